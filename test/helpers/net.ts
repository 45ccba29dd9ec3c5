import { createServer } from 'node:net';

/**
 * Test workers draw ports from their own block below the kernel's ephemeral
 * range (32768 up on Linux). A port the kernel hands out for `listen(0)` is
 * free only until it is closed again: before the child process that was given
 * it binds, another worker's freePort or any outgoing connection may take the
 * same number. Below the ephemeral range and in a block no other worker uses,
 * only this worker's own servers can hold it, and those are skipped by trying
 * the bind first.
 */
const BLOCK_BASE = 10_000;
const BLOCK_SIZE = 2_500;
const BLOCKS = 8;
const poolId = Number(process.env.VITEST_POOL_ID);
const block = Number.isInteger(poolId) && poolId > 0 ? BLOCK_BASE + ((poolId - 1) % BLOCKS) * BLOCK_SIZE : undefined;
let nextInBlock = Math.floor(Math.random() * BLOCK_SIZE);

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(undefined) : reject(err)));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const bound = (srv.address() as { port: number }).port;
      srv.close(() => resolve(bound));
    });
  });
}

/** A free TCP port on loopback (for binaries that need a port number up front). */
export async function freePort(): Promise<number> {
  if (block !== undefined) {
    for (let tries = 0; tries < BLOCK_SIZE; tries++) {
      const port = block + (nextInBlock++ % BLOCK_SIZE);
      const got = await tryListen(port);
      if (got !== undefined) return got;
    }
  }
  const any = await tryListen(0);
  if (any === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return any;
}

export async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs}ms${lastErr ? `: ${String(lastErr)}` : ''}`);
}
