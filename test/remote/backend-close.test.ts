/**
 * The query backend's kept-alive connections are closed by close(), and by
 * Vigil's stop: none is left open for the backend to time out. The client
 * sockets are observed as Node creates them (the net.client.socket channel),
 * so the check needs no waiting: destroy is synchronous.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { queryBackendSchema } from '../../src/config/remote.js';
import { silentLogger } from '../../src/logger.js';
import { startVigil } from '../../src/main.js';
import { createBackendEngine } from '../../src/remote/backend.js';

let server: Server;
let port = 0;
/** Client sockets that connected to the fake backend. */
const clients = new Set<Socket>();
const onSocket = (m: unknown) => {
  const s = (m as { socket: Socket }).socket;
  s.once('connect', () => {
    if (s.remotePort === port) clients.add(s);
  });
};
const root = mkdtempSync(join(tmpdir(), 'vigil-backend-close-'));

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      // A raw read (evaluation: local) asks for a range selector and gets a matrix.
      const raw = new URLSearchParams(body).get('query')?.endsWith(']');
      const data = raw ? { resultType: 'matrix', result: [{ metric: { __name__: 'x' }, values: [[1, '1']] }] } : { resultType: 'vector', result: [{ metric: { job: 'x' }, value: [1, '1'] }] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
  subscribe('net.client.socket', onSocket);
});
afterEach(() => clients.clear());
afterAll(async () => {
  unsubscribe('net.client.socket', onSocket);
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(root, { recursive: true, force: true });
});

const open = () => [...clients].filter((s) => !s.destroyed).length;

describe('query backend connections', () => {
  it('close() ends the kept-alive connections', async () => {
    for (const evaluation of ['backend', 'local'] as const) {
      const e = createBackendEngine({ config: queryBackendSchema.parse({ url: `http://127.0.0.1:${port}`, evaluation }) });
      await e.instantQuery('x', 1000);
      await e.instantQuery('x', 2000);
      // Kept alive between queries: the point of the client, and what close() must end.
      expect(open()).toBeGreaterThan(0);
      e.close();
      expect(open()).toBe(0);
    }
  });

  it('Vigil stop closes them', async () => {
    const file = join(root, 'vigil.yml');
    writeFileSync(file, `server: {listen: "127.0.0.1:0"}\nstorage: {path: data}\nlogs: {self: false}\nquery_backend: {url: "http://127.0.0.1:${port}"}\n`);
    const v = await startVigil(loadConfig(file, { env: {} }), { logger: silentLogger(), listen: '127.0.0.1:0' });
    try {
      const r = await fetch(`${v.url}/api/v1/query?query=x&time=1`);
      expect(r.status).toBe(200);
      expect(open()).toBeGreaterThan(0);
    } finally {
      await v.stop();
    }
    expect(open()).toBe(0);
  });
});
