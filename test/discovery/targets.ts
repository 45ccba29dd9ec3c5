/**
 * Loopback /metrics servers standing in for scraped applications, each keeping
 * a log of the scrapes it answered (time and scraping replica), so tests count
 * scrapes from the targets' side.
 *
 * They answer from a thread of their own, as real applications answer from
 * processes of their own: served from the test's main thread, which Vigil runs
 * on in these tests, a loaded machine stalls both for longer than the 500 ms
 * scrape timeout (0.3-1.2 s measured), and a healthy target's scrape times
 * out, writing up 0 and raising InstanceDown.
 */
import { Worker } from 'node:worker_threads';

export interface FakeTarget {
  address: string;
  port: number;
  /** Times (ms) of the scrapes answered. */
  log: number[];
  /** The thread serving it, and its index there. */
  thread: Worker;
  index: number;
}

/** The serving thread: listens for each body, reports every scrape, closes servers on request. */
const SERVE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createServer } = require('node:http');
const servers = [];
let ready = 0;
workerData.bodies.forEach((body, i) => {
  const server = createServer((req, res) => {
    if (req.url && req.url.startsWith(workerData.scrapePath)) parentPort.postMessage({ type: 'scrape', i, t: Date.now() });
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(body);
  });
  servers[i] = server;
  server.listen(0, '127.0.0.1', () => {
    if (++ready === workerData.bodies.length) parentPort.postMessage({ type: 'ready', ports: servers.map((s) => s.address().port) });
  });
});
parentPort.on('message', (m) => {
  let left = m.close.length;
  if (left === 0) parentPort.postMessage({ type: 'closed', id: m.id });
  for (const i of m.close) {
    servers[i].closeAllConnections();
    servers[i].close(() => { if (--left === 0) parentPort.postMessage({ type: 'closed', id: m.id }); });
  }
});
`;

type FromThread = { type: 'ready'; ports: number[] } | { type: 'scrape'; i: number; t: number } | { type: 'closed'; id: number };

/** Open servers per thread: the thread ends with its last server. */
const open = new Map<Worker, Set<number>>();
let closeId = 0;

/**
 * `scrapePath` is what a counted scrape asks for: a test that counts scrapes gives
 * it a query unique to its run, so a scraper left running by an earlier run that
 * reaches a reused port is answered but not counted.
 */
export async function startTargets(n: number, body = (i: number) => `# TYPE app_up gauge\napp_up{idx="${i}"} 1\n`, scrapePath = '/metrics'): Promise<FakeTarget[]> {
  const bodies = Array.from({ length: n }, (_, i) => body(i));
  const thread = new Worker(SERVE, { eval: true, workerData: { bodies, scrapePath } });
  const logs = bodies.map((): number[] => []);
  const ports = await new Promise<number[]>((resolve, reject) => {
    thread.once('error', reject);
    thread.on('message', (m: FromThread) => {
      if (m.type === 'ready') resolve(m.ports);
      else if (m.type === 'scrape') logs[m.i].push(m.t);
    });
  });
  open.set(thread, new Set(ports.map((_, i) => i)));
  return ports.map((port, index) => ({ address: `127.0.0.1:${port}`, port, log: logs[index], thread, index }));
}

export async function stopTargets(ts: FakeTarget[]): Promise<void> {
  const byThread = new Map<Worker, number[]>();
  for (const t of ts) {
    if (!open.get(t.thread)?.has(t.index)) continue;
    open.get(t.thread)!.delete(t.index);
    byThread.set(t.thread, [...(byThread.get(t.thread) ?? []), t.index]);
  }
  await Promise.all(
    [...byThread].map(async ([thread, close]) => {
      const id = ++closeId;
      await new Promise<void>((resolve) => {
        const onMessage = (m: FromThread) => {
          if (m.type !== 'closed' || m.id !== id) return;
          thread.off('message', onMessage);
          resolve();
        };
        thread.on('message', onMessage);
        thread.postMessage({ close, id });
      });
      if (open.get(thread)!.size === 0) {
        open.delete(thread);
        await thread.terminate();
      }
    }),
  );
}
