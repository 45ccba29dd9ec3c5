/**
 * Exactly-once by _id across an Elasticsearch outage and a SIGKILL of the
 * process running the pipeline. The outage's length and event count come from
 * VIGIL_LOGS_OUTAGE_SECONDS / VIGIL_LOGS_OUTAGE_EVENTS (defaults: 5 s, 200k
 * events; CI runs 20 s, the full figure is 300 s). The memory bound
 * depends on the event count, which the shorter default keeps: the same 200k
 * events arrive four times as fast and still all pass through the disk spool
 * (the pipeline reads the file at its own pace, so a faster writer only makes
 * the bound harder to hold).
 */
import type { ChildProcess } from 'node:child_process';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, type TestContext } from 'vitest';
import { ElasticsearchStandIn } from '../helpers/elasticsearch.js';
import { waitFor } from '../helpers/net.js';
import { spawnTied } from '../helpers/spawn-tied.js';
import { pipelineChildArgs, pipelineChildEnv } from './fixtures/pipeline-child-launch.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const DS = 'logs-crash-default';
const OUTAGE_S = Number(process.env.VIGIL_LOGS_OUTAGE_SECONDS ?? 5);
const OUTAGE_EVENTS = Number(process.env.VIGIL_LOGS_OUTAGE_EVENTS ?? 200_000);
/** The bound asserted during the outage: the queue is 5000 events, everything else goes to disk. */
const HEAP_CAP_MB = 96;
const RSS_BOUND = 300 * 1024 * 1024;
const HEAP_BOUND = HEAP_CAP_MB * 1024 * 1024;

interface Sample {
  rss: number;
  heapUsed: number;
  memoryEvents: number;
  spoolBytes: number;
}

interface Child {
  proc: ChildProcess;
  samples: Sample[];
  last(): Sample | undefined;
  exited: Promise<number | null>;
}

function startChild(settings: Record<string, unknown>): Child {
  // A capped old space proves the bound: a pipeline that held the outage in memory would die here.
  const proc = spawnTied([`--max-old-space-size=${HEAP_CAP_MB}`, ...pipelineChildArgs], {
    cwd: root,
    env: { ...process.env, VIGIL_CHILD: pipelineChildEnv(settings) },
    stdout: 'pipe',
    stderr: 'inherit',
  });
  const samples: Sample[] = [];
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) if (l.startsWith('{')) samples.push(JSON.parse(l) as Sample);
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, samples, last: () => samples.at(-1), exited };
}

/** The spool has data and stopped growing for a second: the child has read everything written. */
function spoolSettled(c: Child): true | undefined {
  const tail = c.samples.slice(-6);
  if (tail.length < 6 || tail[0].spoolBytes === 0) return undefined;
  return tail.every((s) => s.spoolBytes === tail[0].spoolBytes) ? true : undefined;
}

function lines(from: number, n: number): string {
  let s = '';
  for (let i = from; i < from + n; i++) {
    s += `{"timestamp":"2026-03-01T10:00:00.000Z","level":"info","logger":"http","caller":"middleware/log.go:42","message":"evt-${i}","method":"GET","path":"/api/v1/plans","status":200,"latency":0.0042,"client_ip":"10.0.0.7","user_agent":"k6/0.50","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}\n`;
  }
  return s;
}

/** Stored count and whether message sequence numbers are exactly 0..n-1, each once. */
function check(es: ElasticsearchStandIn, n: number): { count: number; exact: boolean } {
  const seen = new Uint8Array(n);
  let dup = 0;
  let bad = 0;
  for (const d of es.docs(DS).values()) {
    const i = Number(d.source);
    if (!Number.isInteger(i) || i < 0 || i >= n) bad++;
    else if (seen[i]++) dup++;
  }
  return { count: es.count(DS), exact: dup === 0 && bad === 0 && seen.every((x) => x === 1) };
}

/** Each test's own Elasticsearch stand-in, directory and pipeline processes, torn down when it ends. */
async function setup(onTestFinished: TestContext['onTestFinished']): Promise<{ es: ElasticsearchStandIn; dir: string; child: () => Child }> {
  const es = await new ElasticsearchStandIn().start();
  // Keep only the sequence number: 200k full documents would weigh on the test process.
  es.project = (src) => /"message":"evt-(\d+)"/.exec(src)?.[1] ?? 'unparsed';
  const dir = await mkdtemp(join(tmpdir(), 'vigil-logs-crash-'));
  const children: Child[] = [];
  onTestFinished(async () => {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await es.close();
    await rm(dir, { recursive: true, force: true });
  });
  const settings = { esUrl: es.url, file: join(dir, 'app.log'), dataDir: join(dir, 'data'), dataStream: DS };
  const child = () => {
    const c = startChild(settings);
    children.push(c);
    return c;
  };
  return { es, dir, child };
}

// The tests run at once: the crash tests take their turns while the outage test
// writes its events at the outage's pace. Each has its own stand-in, directory
// and processes; the memory bound is the outage child's own.
describe.concurrent('delivery across outages and crashes (child process, stand-in Elasticsearch)', () => {
  it(
    `ships ${OUTAGE_EVENTS} events written during a ${OUTAGE_S}s outage exactly once, with bounded memory`,
    async ({ expect, onTestFinished }) => {
      const { es, dir, child } = await setup(onTestFinished);
      await appendFile(join(dir, 'app.log'), '');
      const c = child();
      await waitFor(() => c.last(), 30_000);
      es.mode = 'unavailable';
      const ticks = Math.max(1, OUTAGE_S * 10);
      const per = Math.ceil(OUTAGE_EVENTS / ticks);
      const t0 = Date.now();
      for (let written = 0, k = 0; written < OUTAGE_EVENTS; k++) {
        const n = Math.min(per, OUTAGE_EVENTS - written);
        await appendFile(join(dir, 'app.log'), lines(written, n));
        written += n;
        const wait = t0 + (k + 1) * 100 - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      // Everything written is read and on disk before the cluster comes back.
      await waitFor(() => spoolSettled(c), 60_000);
      const during = c.samples.slice(1);
      const maxRss = Math.max(...during.map((s) => s.rss));
      const maxHeap = Math.max(...during.map((s) => s.heapUsed));
      console.log(`outage: ${OUTAGE_EVENTS} events over ${((Date.now() - t0) / 1000).toFixed(1)}s; child max RSS ${(maxRss / 2 ** 20).toFixed(0)} MiB, max heap ${(maxHeap / 2 ** 20).toFixed(0)} MiB, spool ${(c.last()!.spoolBytes / 2 ** 20).toFixed(1)} MiB`);
      expect(maxRss).toBeLessThan(RSS_BOUND);
      expect(maxHeap).toBeLessThan(HEAP_BOUND);
      expect(es.count(DS)).toBe(0);

      es.mode = 'up';
      const t1 = Date.now();
      // The count alone while polling: the full check walks every stored document.
      await waitFor(() => (es.count(DS) >= OUTAGE_EVENTS ? true : undefined), 240_000, 200);
      console.log(`drained ${OUTAGE_EVENTS} events in ${((Date.now() - t1) / 1000).toFixed(1)}s`);
      await new Promise((r) => setTimeout(r, 500));
      expect(check(es, OUTAGE_EVENTS)).toEqual({ count: OUTAGE_EVENTS, exact: true });
    },
    OUTAGE_S * 1000 + 360_000,
  );

  it('SIGKILL while shipping, then restart: every line stored exactly once', async ({ expect, onTestFinished }) => {
    const { es, dir, child } = await setup(onTestFinished);
    const n = 30_000;
    es.delayMs = 30;
    await appendFile(join(dir, 'app.log'), lines(0, n));
    const c1 = child();
    await waitFor(() => (es.count(DS) > 5000 ? true : undefined), 60_000);
    c1.proc.kill('SIGKILL');
    await c1.exited;
    expect(es.count(DS)).toBeLessThan(n);
    child();
    await waitFor(() => (es.count(DS) >= n ? true : undefined), 120_000, 100);
    await new Promise((r) => setTimeout(r, 500));
    expect(check(es, n)).toEqual({ count: n, exact: true });
    expect(es.stats.conflicts).toBeGreaterThanOrEqual(0);
  }, 240_000);

  it('SIGKILL with events in the disk spool during an outage, then restart: spool drained, nothing lost or doubled', async ({ expect, onTestFinished }) => {
    const { es, dir, child } = await setup(onTestFinished);
    const n = 20_000;
    es.mode = 'unavailable';
    await appendFile(join(dir, 'app.log'), lines(0, n));
    const c1 = child();
    await waitFor(() => spoolSettled(c1), 60_000);
    c1.proc.kill('SIGKILL');
    await c1.exited;
    es.mode = 'up';
    child();
    await appendFile(join(dir, 'app.log'), lines(n, 1000));
    await waitFor(() => (es.count(DS) >= n + 1000 ? true : undefined), 120_000, 100);
    await new Promise((r) => setTimeout(r, 500));
    expect(check(es, n + 1000)).toEqual({ count: n + 1000, exact: true });
  }, 240_000);
});
