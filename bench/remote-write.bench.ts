/**
 * `npm run bench remote-write`: one target exposing 100k series, scraped every
 * 15 s and written to a loopback remote-write receiver, by Vigil, vmagent and
 * Prometheus 2.42 in agent mode, one after the other on the same target and
 * receiver. Reports samples/s received, CPU seconds per million samples, bytes
 * on the wire per sample and RSS of each sender, measured from /proc over the
 * steady window after the first samples arrive.
 *
 * VIGIL_BENCH_RW_SECONDS sets the window (default 60 s: four scrapes, counted);
 * VIGIL_BENCH_RW_WARMUP_SCRAPES scrapes delivered between the first one and the
 * window (default 4), for every sender alike: what the first scrape leaves
 * behind (creating every series, its garbage, a JIT warming up) is paid off
 * there and not spread over the steady window;
 * VIGIL_BENCH_RW_SERIES the series count (default 100000);
 * VIGIL_BENCH_RW_ONLY a comma-separated subset of senders (e.g. `Vigil`);
 * VIGIL_BENCH_RW_CPU_PROF a directory for Vigil's CPU profiles (one per thread);
 * VIGIL_BENCH_RW_THREADS=1 adds each sender's CPU per thread name over the window;
 * VIGIL_BENCH_RW_BASE a second Vigil source tree (an older build) measured as
 * `Vigil (base)` right after `Vigil`, for a ratio taken under the same load;
 * VIGIL_BENCH_RW_BASE_FIRST=1 measures the base before `Vigil` (to tell an order effect from a change's);
 * VIGIL_BENCH_RW_NODE_ARGS extra Node options (space-separated) for `Vigil` only, not the base;
 * VIGIL_BENCH_RW_STDOUT a directory for each Vigil's standard output (e.g. with `--trace-gc`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeWriteBody } from '../src/remote/proto.js';
import { cpuTimes } from '../test/helpers/proc-cpu.js';
import { findBinary, freePort, sleep } from './parse-helpers.js';
import type { BenchTable } from './table.js';

const SERIES = Number(process.env.VIGIL_BENCH_RW_SERIES ?? 100_000);
const WINDOW_S = Number(process.env.VIGIL_BENCH_RW_SECONDS ?? 60);
const WARMUP_SCRAPES = Number(process.env.VIGIL_BENCH_RW_WARMUP_SCRAPES ?? 4);
const ROOT = join(import.meta.dirname, '..');
const ONLY = process.env.VIGIL_BENCH_RW_ONLY?.split(',').map((s) => s.trim().toLowerCase());
const CPU_PROF = process.env.VIGIL_BENCH_RW_CPU_PROF;
const THREADS = process.env.VIGIL_BENCH_RW_THREADS === '1';
const BASE = process.env.VIGIL_BENCH_RW_BASE;
const NODE_ARGS = process.env.VIGIL_BENCH_RW_NODE_ARGS;
const STDOUT_DIR = process.env.VIGIL_BENCH_RW_STDOUT;

/** 100k series in 200 metric families of 500, the values moving each scrape. */
function startTarget(): Promise<{ server: Server; port: number }> {
  let scrape = 0;
  const server = createServer((_req, res) => {
    scrape++;
    const parts: string[] = [];
    const families = Math.ceil(SERIES / 500);
    for (let f = 0; f < families; f++) {
      parts.push(`# TYPE bench_metric_${f}_total counter\n`);
      for (let i = 0; i < 500 && f * 500 + i < SERIES; i++) parts.push(`bench_metric_${f}_total{instance_id="i${i}",zone="z${i % 7}"} ${scrape * (i + 1)}\n`);
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(parts.join(''));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

interface Received {
  samples: number;
  bytes: number;
  firstAt: number;
}

function startReceiver(stats: Received): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let n = 0;
      try {
        for (const ts of decodeWriteBody(body).timeseries) n += ts.samples.length;
      } catch {
        res.writeHead(400).end();
        return;
      }
      if (n > 0 && stats.firstAt === 0) stats.firstAt = performance.now();
      stats.samples += n;
      stats.bytes += body.length;
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

/** Waits until no samples arrived for `ms` (a sender between two scrapes). */
async function quiet(stats: Received, ms: number): Promise<void> {
  let last = stats.samples;
  let since = performance.now();
  const limit = since + 60_000;
  while (performance.now() - since < ms && performance.now() < limit) {
    await sleep(200);
    if (stats.samples !== last) {
      last = stats.samples;
      since = performance.now();
    }
  }
}

function procStat(pid: number): { cpuS: number; rssMb: number } {
  const cpuS = cpuTimes(`/proc/${pid}/stat`).self;
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuS, rssMb: rss ? Number(rss[1]) / 1024 : NaN };
}

/** CPU seconds per thread name (threads of one name summed; exited threads are not counted). */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trimEnd();
      out.set(`${name}#${tid}`, cpuTimes(`/proc/${pid}/task/${tid}/stat`).self);
    } catch {
      // The thread ended.
    }
  }
  return out;
}

/** Threads' CPU over the window, the busiest first (Node names every thread `node`: the main one is marked by its id being the pid's). */
function threadReport(name: string, pid: number, before: Map<string, number>, after: Map<string, number>, samples: number): string {
  const rows: Array<[string, number]> = [];
  let rest = 0;
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    const [n, tid] = [k.slice(0, k.lastIndexOf('#')), k.slice(k.lastIndexOf('#') + 1)];
    rows.push([Number(tid) === pid ? `${n} (main)` : `${n} ${tid}`, d]);
  }
  rows.sort((a, b) => b[1] - a[1]);
  const shown = rows.slice(0, 8).filter(([, v]) => v > 0);
  for (const [, v] of rows.slice(8)) rest += v;
  const per = (v: number) => ((v / samples) * 1e6).toFixed(2);
  return `${name} CPU s per 1M samples by thread: ${shown.map(([n, v]) => `${n} ${per(v)}`).join(', ')}${rest > 0 ? `, ${rows.length - 8} others ${per(rest)}` : ''}`;
}

const threadNotes: string[] = [];

/** A sender's row when it could not be measured, padded to the table's columns. */
function notMeasured(name: string, why: string): Array<string | number> {
  return [name, `not measured: ${why}`, ...Array<string>(6).fill('')];
}

function exited(code: number, stderr: string): string {
  return `exited with ${code}: ${stderr.trim().split('\n').pop()}`;
}

interface Contender {
  name: string;
  start(dir: string, targetPort: number, writeUrl: string): ChildProcess | string;
}

async function run(c: Contender, targetPort: number): Promise<Array<string | number>> {
  const stats: Received = { samples: 0, bytes: 0, firstAt: 0 };
  const rx = await startReceiver(stats);
  const dir = mkdtempSync(join(tmpdir(), `vigil-bench-rw-${c.name.replace(/\W/g, '')}-`));
  const child = c.start(dir, targetPort, `http://127.0.0.1:${rx.port}/api/v1/write`);
  try {
    if (typeof child === 'string') return notMeasured(c.name, child);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const deadline = performance.now() + 120_000;
    while (stats.firstAt === 0) {
      if (child.exitCode !== null) return notMeasured(c.name, exited(child.exitCode, err));
      if (performance.now() > deadline) return notMeasured(c.name, 'no samples within 120 s');
      await sleep(100);
    }
    // Steady state: from when the first scrape is delivered in full. What comes
    // before (start-up, creating every series, a JIT warming up) is reported apart.
    while (stats.samples < SERIES) {
      if (child.exitCode !== null) return notMeasured(c.name, exited(child.exitCode, err));
      if (performance.now() > deadline) return notMeasured(c.name, 'the first scrape was not delivered within 120 s');
      await sleep(100);
    }
    const firstScrapeCpu = procStat(child.pid!).cpuS;
    // A Node process collects the first scrape's garbage some 30-50 s later
    // (V8's memory reducer: full collections of a 100+ MB heap); Go and
    // vmagent have one-off costs of their own. Whole scrapes of warm-up keep
    // them all out of the window.
    const warmUntil = performance.now() + WARMUP_SCRAPES * 30_000 + 30_000;
    while (stats.samples < (1 + WARMUP_SCRAPES) * SERIES) {
      if (child.exitCode !== null) return notMeasured(c.name, `during warm-up: ${exited(child.exitCode, err)}`);
      if (performance.now() > warmUntil) return notMeasured(c.name, `${WARMUP_SCRAPES} warm-up scrapes not delivered in time`);
      await sleep(200);
    }
    // Between two scrapes, so the window holds whole scrapes only.
    await quiet(stats, 3000);
    const s0 = { ...stats };
    const p0 = procStat(child.pid!);
    const th0 = THREADS ? threadCpu(child.pid!) : undefined;
    const t0 = performance.now();
    // Whole scrapes, as many as fit the window, counted rather than timed: a window holding
    // one scrape more would spread the sender's steady background over more samples.
    const scrapes = Math.max(1, Math.round(WINDOW_S / 15));
    const until = t0 + WINDOW_S * 2000 + 60_000;
    while (stats.samples - s0.samples < scrapes * SERIES && performance.now() < until && child.exitCode === null) await sleep(200);
    await quiet(stats, 3000);
    const p1 = procStat(child.pid!);
    if (th0) threadNotes.push(threadReport(c.name, child.pid!, th0, threadCpu(child.pid!), stats.samples - s0.samples));
    const secs = (performance.now() - t0) / 1000;
    const samples = stats.samples - s0.samples;
    const bytes = stats.bytes - s0.bytes;
    return [c.name, samples / secs, samples ? ((p1.cpuS - p0.cpuS) / samples) * 1e6 : NaN, samples ? bytes / samples : NaN, p1.rssMb, samples, firstScrapeCpu, p0.cpuS - firstScrapeCpu];
  } finally {
    if (typeof child !== 'string') {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    }
    rx.server.closeAllConnections();
    await new Promise((r) => rx.server.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const scrapeYaml = (targetPort: number) => `  - job_name: bench
    scrape_interval: 15s
    scrape_timeout: 10s
    static_configs: [{targets: ['127.0.0.1:${targetPort}']}]
`;

function vigil(name: string, root: string): Contender {
  return {
    name,
    start(dir, targetPort, writeUrl) {
      const file = join(dir, 'vigil.yml');
      writeFileSync(
        file,
        `global: {scrape_interval: 15s, scrape_timeout: 10s}
server: {listen: '127.0.0.1:0'}
storage: {path: '${join(dir, 'data')}', mode: agent}
logs: {self: false}
scrape_configs:
${scrapeYaml(targetPort)}remote_write:
  - url: ${writeUrl}
`,
      );
      const prof = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [];
      const extra = root === ROOT && NODE_ARGS ? NODE_ARGS.split(' ').filter(Boolean) : [];
      // Standard output (where --trace-gc writes) goes to a file when asked, one per run.
      const out = STDOUT_DIR ? openSync(join(STDOUT_DIR, `${name.replace(/\W/g, '')}-${Date.now()}.log`), 'w') : 'ignore';
      return spawn(process.execPath, [...prof, ...extra, '--import', 'tsx', join(root, 'src/cli.ts'), 'start', '--config', file], { cwd: root, stdio: ['ignore', out, 'pipe'] });
    },
  };
}

const vigils = [vigil('Vigil', ROOT), ...(BASE ? [vigil('Vigil (base)', BASE)] : [])];
const contenders: Contender[] = [
  ...(process.env.VIGIL_BENCH_RW_BASE_FIRST === '1' ? vigils.reverse() : vigils),
  {
    name: 'vmagent',
    start(dir, targetPort, writeUrl) {
      const bin = findBinary('vmagent');
      if (!bin) return 'vmagent is not installed (apt-get install victoria-metrics)';
      const cfg = join(dir, 'scrape.yml');
      writeFileSync(cfg, `scrape_configs:\n${scrapeYaml(targetPort)}`);
      return spawn(bin, [`-promscrape.config=${cfg}`, `-remoteWrite.url=${writeUrl}`, `-remoteWrite.tmpDataPath=${join(dir, 'tmp')}`, '-httpListenAddr=127.0.0.1:0', '-loggerLevel=ERROR'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    },
  },
  {
    name: 'Prometheus 2.42 agent',
    start(dir, targetPort, writeUrl) {
      const bin = findBinary('prometheus');
      if (!bin) return 'prometheus is not installed (apt-get install prometheus)';
      const cfg = join(dir, 'prometheus.yml');
      writeFileSync(cfg, `scrape_configs:\n${scrapeYaml(targetPort)}remote_write:\n  - url: ${writeUrl}\n`);
      return spawn(bin, ['--enable-feature=agent', `--config.file=${cfg}`, `--storage.agent.path=${join(dir, 'agent')}`, `--web.listen-address=127.0.0.1:${String(0)}`, '--log.level=error'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    },
  },
];

export default async function bench(): Promise<BenchTable[]> {
  const target = await startTarget();
  const rows: Array<Array<string | number>> = [];
  try {
    for (const c of contenders) if (!ONLY || ONLY.some((o) => c.name.toLowerCase().startsWith(o))) rows.push(await run(c, target.port));
  } finally {
    target.server.closeAllConnections();
    await new Promise((r) => target.server.close(r));
  }
  void freePort;
  return [
    {
      title: `Remote write: ${SERIES.toLocaleString('en-US')} series scraped every 15 s, sent to a loopback receiver (${WINDOW_S} s window)`,
      columns: ['sender', 'samples/s sent', 'CPU s per 1M samples', 'bytes on wire per sample', 'RSS MB', 'samples in window', 'CPU s until first scrape delivered', 'CPU s during warm-up'],
      rows,
      notes: [
        `CPU and RSS from /proc of the sender process over the window that starts once the first scrape and ${WARMUP_SCRAPES} warm-up scrapes have been delivered in full; bytes are the snappy-compressed request bodies.`,
        'The last two columns are the CPU the sender used from its start until its first scrape was delivered in full (start-up, creating every series, for Vigil compiling TypeScript and warming up the JIT), and from then until the window (the warm-up scrapes, and whatever the first scrape left to collect or compile later).',
        'Vigil runs in agent mode (WAL only), like the other two; default queue settings everywhere.',
        ...threadNotes,
      ],
    },
  ];
}
