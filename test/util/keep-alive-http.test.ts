/**
 * The keep-alive client against a real loopback server that closes a kept-alive
 * connection as the next request arrives on it, the race a server's idle
 * timeout causes: that request goes once more on a new connection; a request
 * on a new connection that fails is not repeated.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KeepAliveClient } from '../../src/util/keep-alive-http.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

describe('keep-alive client', () => {
  it('sends a request again on a new connection when the server closed the reused one, never twice on a new one', async () => {
    const served = new WeakMap<Socket, number>();
    let connections = 0;
    let requests = 0;
    let closeFresh = false;
    server = createServer((req, res) => {
      requests++;
      const n = served.get(req.socket) ?? 0;
      served.set(req.socket, n + 1);
      // A second request on a connection, or any when told: closed unanswered.
      if (n > 0 || closeFresh) return void req.socket.destroy();
      req.resume().on('end', () => res.end('ok'));
    });
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
    const http = new KeepAliveClient({ timeoutMs: 5000 });
    const post = () => http.request(url, { method: 'POST', headers: {}, body: Buffer.from('x'), keep: () => Infinity });

    expect((await post()).body.toString()).toBe('ok');
    const again = await post();
    expect(again.body.toString()).toBe('ok');
    expect({ connections, requests }).toEqual({ connections: 2, requests: 3 });

    http.close();
    closeFresh = true;
    await expect(post()).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect({ connections, requests }).toEqual({ connections: 3, requests: 4 });
  });
});
