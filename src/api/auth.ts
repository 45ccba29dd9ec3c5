/**
 * Authentication for the whole HTTP surface, applied once as an onRequest hook.
 * Routes declare what they need in their config (`access: 'write'`); nothing
 * else in the code base checks tokens.
 *
 * A write request passes with `Authorization: Bearer <token>`, or from a
 * signed-in browser with the session cookie plus the session's anti-forgery
 * header. With no token configured (the loopback default) writes are open,
 * but a browser request coming from another origin is still refused, so a web
 * page cannot make the engineer's browser create silences.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendErrorFor } from './errors.js';
import { CSRF_HEADER, SESSION_COOKIE, readCookie, sameSecret, type Session, type SessionStore } from './session.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'write': changes state or accepts data, so needs the token (or a signed-in session). */
    access?: 'write';
  }
}

export interface AuthOptions {
  /** The current server.token, read on every request so a reload takes effect at once. */
  token: () => string | undefined;
  sessions: SessionStore;
}

export function sessionOf(req: FastifyRequest, sessions: SessionStore): { id?: string; session?: Session } {
  const id = readCookie(req.headers.cookie, SESSION_COOKIE);
  return { id, session: sessions.get(id) };
}

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7) : undefined;
}

/** True when the request says it comes from a page of another origin. */
export function crossOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return req.headers['sec-fetch-site'] === 'cross-site';
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

/** Whether the request may write: token, or session + anti-forgery header. */
export function writeAllowed(req: FastifyRequest, o: AuthOptions): { ok: true } | { ok: false; code: number; message: string } {
  const given = bearer(req);
  const token = o.token();
  if (token && given !== undefined) {
    return sameSecret(given, token) ? { ok: true } : { ok: false, code: 401, message: 'missing or wrong bearer token' };
  }
  if (given === undefined && crossOrigin(req)) return { ok: false, code: 403, message: 'cross-origin request refused' };
  const { session } = sessionOf(req, o.sessions);
  if (session) {
    const csrf = req.headers[CSRF_HEADER];
    if (typeof csrf === 'string' && sameSecret(csrf, session.csrf)) return { ok: true };
    return { ok: false, code: 403, message: `missing or wrong ${CSRF_HEADER} header for the signed-in session` };
  }
  if (!token) return { ok: true };
  return { ok: false, code: 401, message: 'missing or wrong bearer token' };
}

export function installAuth(app: FastifyInstance, o: AuthOptions): void {
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.routeOptions.config?.access !== 'write') return;
    const r = writeAllowed(req, o);
    if (r.ok) return;
    if (r.code === 401) reply.header('www-authenticate', 'Bearer');
    return sendErrorFor(req.url, reply, r.code, r.code === 401 ? 'unauthorized' : 'forbidden', r.message);
  });
}
