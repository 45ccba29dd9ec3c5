/**
 * A loopback stand-in for a Slack incoming webhook: records every JSON payload
 * and can be told to answer the next requests with 429 (Retry-After), 500, or
 * to hang (a timeout for the client). Reusable by any test that sends to Slack.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';

export type Fault = { kind: 'status'; status: number; retryAfter?: string } | { kind: 'hang' };

export interface SlackStandIn {
  url: string;
  /** Payloads answered with 200 ("ok"), in arrival order. */
  received: Array<Record<string, any>>;
  /** Every request including faulted ones, with arrival time. */
  attempts: Array<{ at: number; answered: number | 'hang'; body: Record<string, any> }>;
  /** Queue faults for the next requests (one fault per request). */
  failNext(...faults: Fault[]): void;
  /** Called on each delivered payload (latency benchmarks). */
  onReceive?: (body: Record<string, any>) => void;
  close(): Promise<void>;
}

export async function startSlackStandIn(): Promise<SlackStandIn> {
  const faults: Fault[] = [];
  const hanging = new Set<ServerResponse>();
  const s: SlackStandIn = {
    url: '',
    received: [],
    attempts: [],
    failNext: (...f) => faults.push(...f),
    close: async () => {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Record<string, any>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid_payload');
        return;
      }
      const fault = faults.shift();
      if (fault?.kind === 'hang') {
        s.attempts.push({ at: Date.now(), answered: 'hang', body });
        hanging.add(res);
        return;
      }
      if (fault?.kind === 'status') {
        s.attempts.push({ at: Date.now(), answered: fault.status, body });
        const headers: Record<string, string> = { 'content-type': 'text/plain' };
        if (fault.retryAfter) headers['retry-after'] = fault.retryAfter;
        res.writeHead(fault.status, headers).end(fault.status === 429 ? 'rate_limited' : 'internal_error');
        return;
      }
      s.attempts.push({ at: Date.now(), answered: 200, body });
      s.received.push(body);
      s.onReceive?.(body);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  s.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/services/T000/B000/XXXXSECRET`;
  return s;
}

/** A Slack webhook that is gone: its port accepts connections and drops them at once. */
export async function startDeadSlack(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createNetServer((socket) => socket.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/services/T0/B0/dead`, close: () => new Promise((r) => server.close(() => r())) };
}
