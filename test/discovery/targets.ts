/**
 * Loopback /metrics servers standing in for scraped applications, each keeping
 * a log of the scrapes it answered (time and scraping replica), so tests count
 * scrapes from the targets' side.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeTarget {
  address: string;
  port: number;
  /** Times (ms) of the scrapes answered. */
  log: number[];
  server: Server;
}

/**
 * `scrapePath` is what a counted scrape asks for: a test that counts scrapes gives
 * it a query unique to its run, so a scraper left running by an earlier run that
 * reaches a reused port is answered but not counted.
 */
export async function startTargets(n: number, body = (i: number) => `# TYPE app_up gauge\napp_up{idx="${i}"} 1\n`, scrapePath = '/metrics'): Promise<FakeTarget[]> {
  const out: FakeTarget[] = [];
  for (let i = 0; i < n; i++) {
    const log: FakeTarget['log'] = [];
    const server = createServer((req, res) => {
      if (req.url?.startsWith(scrapePath)) log.push(Date.now());
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(body(i));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    out.push({ address: `127.0.0.1:${port}`, port, log, server });
  }
  return out;
}

export async function stopTargets(ts: FakeTarget[]): Promise<void> {
  await Promise.all(
    ts.map(
      (t) =>
        new Promise<void>((r) => {
          t.server.closeAllConnections();
          t.server.close(() => r());
        }),
    ),
  );
}
