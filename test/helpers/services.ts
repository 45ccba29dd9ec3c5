/**
 * Availability of the real services and binaries tests rely on. A missing one
 * skips its tests with a loud message; with VIGIL_TEST_STRICT=1 (set by CI) it
 * fails them instead, so CI can never pass by skipping.
 */
import { execFileSync } from 'node:child_process';
import { createConnection } from 'node:net';

export const STRICT = process.env.VIGIL_TEST_STRICT === '1';

export const PG_URL = process.env.VIGIL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.VIGIL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Returns whether `what` is usable; logs a loud skip, or throws under STRICT. */
export function requireOrSkip(what: string, available: boolean, hint = ''): boolean {
  if (available) return true;
  const msg = `${what} is not available${hint ? ` (${hint})` : ''}`;
  if (STRICT) throw new Error(`VIGIL_TEST_STRICT: ${msg}; CI must provide it`);
  console.warn(`\n*** SKIPPING TESTS: ${msg} ***\n`);
  return false;
}

export async function hasPostgres(): Promise<boolean> {
  const u = new URL(PG_URL);
  return requireOrSkip('PostgreSQL', await portOpen(u.hostname, Number(u.port || 5432)), PG_URL);
}

export async function hasRedis(): Promise<boolean> {
  const u = new URL(REDIS_URL);
  return requireOrSkip('Redis', await portOpen(u.hostname, Number(u.port || 6379)), REDIS_URL);
}

export function findBinary(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Path of a binary, or undefined (after a loud skip) when it is not installed. */
export function requireBinary(name: string, pkg = name): string | undefined {
  const path = findBinary(name);
  requireOrSkip(`binary ${name}`, !!path, `apt-get install -y ${pkg}`);
  return path;
}
