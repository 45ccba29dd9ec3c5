/**
 * Browser sign-in sessions for the web UI. The bearer token is exchanged once
 * for a random session id kept in an HttpOnly, SameSite=Strict cookie, so the
 * token never sits in page script or storage. Each session carries its own
 * anti-forgery token that state-changing requests must echo in a header.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'vigil_session';
export const CSRF_HEADER = 'x-vigil-csrf';

export interface Session {
  csrf: string;
  expiresAt: number;
}

export interface SessionStoreOptions {
  ttlMs?: number;
  /** Oldest sessions are dropped beyond this, so sign-in floods cannot grow memory. */
  max?: number;
  now?: () => number;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly now: () => number;

  constructor(o: SessionStoreOptions = {}) {
    this.ttlMs = o.ttlMs ?? 12 * 3600_000;
    this.max = o.max ?? 1000;
    this.now = o.now ?? Date.now;
  }

  get maxAgeSeconds(): number {
    return Math.floor(this.ttlMs / 1000);
  }

  create(): { id: string; session: Session } {
    const id = randomBytes(32).toString('base64url');
    const session = { csrf: randomBytes(24).toString('base64url'), expiresAt: this.now() + this.ttlMs };
    this.sessions.set(id, session);
    // Map iteration order is insertion order: the first keys are the oldest.
    for (const k of this.sessions.keys()) {
      if (this.sessions.size <= this.max) break;
      this.sessions.delete(k);
    }
    return { id, session };
  }

  get(id: string | undefined): Session | undefined {
    if (!id || id.length > 100) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  delete(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  /** Signs everyone out (the token they signed in with was replaced). */
  clear(): void {
    this.sessions.clear();
  }
}

/** Constant-time string comparison (tokens, CSRF values). */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Reads one cookie from a Cookie header without a cookie library; malformed pairs are skipped. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.slice(0, 8192).split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
