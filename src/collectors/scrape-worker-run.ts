/**
 * A scrape worker thread's work: scrapes the HTTP targets the pool assigns to
 * it (fetch, decompression, parsing, relabeling, series mapping) and posts
 * each scrape's batch back with its typed arrays transferred. All the CPU and
 * memory a target costs is spent here, never on the main thread. Separate
 * from the entry module so that tests can run it with another thread clock.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { Batch } from './series-mapper.js';
import { threadClock, withScrapeTimeout, type ThreadClock } from './scrape-timeout.js';
import { TargetScraper } from './target-scrape.js';
import type { TargetSpec } from './target-scrape.js';

export type WorkerRequest =
  | { type: 'scrape'; id: number; key: string; spec?: TargetSpec; timeoutMs: number }
  | { type: 'drop'; key: string };

const HEARTBEAT_MS = 200;

function transfers(b: Batch): ArrayBuffer[] {
  const out = [b.refs.buffer, b.values.buffer, b.ts.buffer, b.defRefs.buffer, b.defCounts.buffer, b.defPairs.buffer];
  if (b.hRefs !== undefined && b.hTs !== undefined) out.push(b.hRefs.buffer, b.hTs.buffer);
  return out;
}

/** This thread's id under /proc (Linux): the pool reads its CPU time to tell a thread starved of CPU from one stuck in a loop. */
function osThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** Serves the pool's requests on this thread, from now on. */
export function runScrapeWorker(clock: ThreadClock = threadClock): void {
  const targets = new Map<string, TargetScraper>();
  const port = parentPort;
  /** [0]: the scrape this thread is busy with, for the pool to blame if the thread dies or hangs; [1]: heartbeat. */
  const shared = new Int32Array((workerData as { shared?: SharedArrayBuffer } | null)?.shared ?? new SharedArrayBuffer(8));

  // Scraping yields the CPU to the main thread (health, rule evaluation, notifications):
  // with pid 0, setpriority changes the calling thread only, on Linux.
  try {
    setPriority(0, (workerData as { nice?: number } | null)?.nice ?? 10);
  } catch {
    // Not permitted or not supported: scrape at normal priority.
  }
  setInterval(() => Atomics.add(shared, 1, 1), HEARTBEAT_MS).unref();

  const scrape = async (m: Extract<WorkerRequest, { type: 'scrape' }>): Promise<void> => {
    let t = targets.get(m.key);
    if (t === undefined) {
      if (m.spec === undefined) throw new Error(`target ${m.key} scraped before it was configured`);
      t = new TargetScraper(m.spec);
      targets.set(m.key, t);
    } else if (m.spec !== undefined) t.configure(m.spec);
    const scraper = t;
    const out = await withScrapeTimeout(
      m.timeoutMs,
      (signal) =>
        scraper.scrape(
          signal,
          m.timeoutMs,
          (busy) => Atomics.store(shared, 0, busy ? m.id : 0),
          (part) => port?.postMessage({ type: 'part', id: m.id, part }, transfers(part)),
        ),
      clock,
    );
    port?.postMessage({ type: 'result', id: m.id, out }, transfers(out.batch));
  };

  port?.on('message', (m: WorkerRequest) => {
    if (m.type === 'drop') targets.delete(m.key);
    else
      scrape(m).catch((err: unknown) => {
        port.postMessage({ type: 'failed', id: m.id, error: (err as Error).message ?? String(err) });
      });
  });
  port?.postMessage({ type: 'ready', tid: osThreadId() });
}
