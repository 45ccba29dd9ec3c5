/**
 * `npm run bench tsdb-scale`: the same synthetic fleet (realistic jittered
 * counters and histogram buckets) backfilled for 2 h, 1 d and 7 d into Vigil
 * (`vigil tsdb import`) and into Prometheus 2.42 (`promtool tsdb
 * create-blocks-from openmetrics`); for each, both are started on the data
 * and measured: start-up time, RSS after start-up, time of a 7-day
 * `sum by (endpoint) (rate(http_requests_total[5m]))` range query at 1 h step,
 * and RSS after it.
 *
 * Sizes (env): VIGIL_BENCH_SCALE_INSTANCES x VIGIL_BENCH_SCALE_ENDPOINTS x 10
 * series (default 10 x 10 = 1,000), VIGIL_BENCH_SCALE_INTERVAL seconds
 * between samples (default 60), VIGIL_BENCH_SCALE_SPANS in hours (default
 * "2,24,168"). The 10k series at 15 s for 7 d is 400M samples (a
 * 45 GB backfill file): set the env for it on a machine that has the time.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fleetSamples, fleetSeries, writeFleet, type FleetSpec } from '../src/tsdb/testing/fleet.js';
import { freePort, waitFor } from '../test/helpers/net.js';
import { startPrometheus } from '../test/helpers/prometheus.js';
import { findBinary } from '../test/helpers/services.js';
import { buildCli } from './cli-bundle.js';
import type { BenchTable } from './table.js';

const exec = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const HOUR = 3600_000;
const QUERY = 'sum by (endpoint) (rate(http_requests_total[5m]))';
const CACHE_BYTES = 64 * 1024 * 1024;

const env = (name: string, def: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
};

function rss(pid: number): number {
  const r = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' });
  return Number(r.stdout.trim()) * 1024;
}

interface Measured {
  importS: number;
  /** Opening the store alone (Vigil's log), within the start-up time. */
  openMs?: number;
  startMs: number;
  rssStart: number;
  queryMs: number;
  rssQuery: number;
  series: number;
  error?: string;
}

async function rangeQuery(url: string, end: number): Promise<{ ms: number; series: number }> {
  const q = new URLSearchParams({ query: QUERY, start: String((end - 7 * 24 * HOUR) / 1000), end: String(end / 1000), step: '3600' });
  const t = performance.now();
  const res = await fetch(`${url}/api/v1/query_range?${q}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  const ms = performance.now() - t;
  if (body.status !== 'success') throw new Error(`query failed: ${body.error}`);
  return { ms, series: body.data!.result.length };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(killer);
}

async function vigil(cli: string, file: string, work: string, end: number): Promise<Measured> {
  const data = join(work, 'vigil-data');
  let t = performance.now();
  await exec(process.execPath, [cli, 'tsdb', 'import', file, '--data', data, '--retention', '36500d'], { cwd: root, maxBuffer: 16 << 20 });
  const importS = (performance.now() - t) / 1000;
  const port = await freePort();
  const cfg = join(work, 'vigil.yml');
  writeFileSync(cfg, `server:\n  listen: 127.0.0.1:${port}\nstorage:\n  path: ${data}\n  retention: 36500d\n  chunk_cache_size: ${CACHE_BYTES}\n`);
  t = performance.now();
  const child = spawn(process.execPath, [cli, 'start', '--config', cfg], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let openMs: number | undefined;
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-100_000);
    const m = /"ms":(\d+)[^\n]*"msg":"tsdb: opened"/.exec(out);
    if (m) openMs = Number(m[1]);
  });
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`vigil exited: ${stderr}`);
      const r = await fetch(`${url}/-/ready`).catch(() => undefined);
      return r?.ok ? true : undefined;
    }, 120_000, 20);
    const startMs = performance.now() - t;
    const rssStart = rss(child.pid!);
    const q = await rangeQuery(url, end);
    return { importS, openMs, startMs, rssStart, queryMs: q.ms, rssQuery: rss(child.pid!), series: q.series };
  } finally {
    await stop(child);
  }
}

async function prometheus(bin: string, promtool: string, file: string, work: string, end: number): Promise<Measured> {
  const data = join(work, 'prom-data');
  let t = performance.now();
  await exec(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', file, data], { maxBuffer: 64 << 20 });
  const importS = (performance.now() - t) / 1000;
  t = performance.now();
  const p = await startPrometheus({ prometheus: bin, dataDir: data });
  try {
    const startMs = performance.now() - t;
    const pid = Number(spawnSync('sh', ['-c', `ss -ltnp 'sport = :${p.port}' | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2`], { encoding: 'utf8' }).stdout.trim());
    const rssStart = pid ? rss(pid) : NaN;
    const q = await rangeQuery(p.url, end);
    return { importS, startMs, rssStart, queryMs: q.ms, rssQuery: pid ? rss(pid) : NaN, series: q.series };
  } finally {
    await p.stop();
  }
}

export default async function bench(): Promise<BenchTable[]> {
  const instances = env('VIGIL_BENCH_SCALE_INSTANCES', 10);
  const endpoints = env('VIGIL_BENCH_SCALE_ENDPOINTS', 10);
  const intervalMs = env('VIGIL_BENCH_SCALE_INTERVAL', 60) * 1000;
  const spans = (process.env.VIGIL_BENCH_SCALE_SPANS ?? '2,24,168').split(',').map(Number);
  const promBin = findBinary('prometheus');
  const promtool = findBinary('promtool');
  const end = Math.floor(Date.now() / HOUR) * HOUR;
  const rows: Array<Array<string | number>> = [];
  const notes: string[] = [];
  const mb = (b: number) => (Number.isFinite(b) ? (b / 1024 ** 2).toFixed(0) : 'n/a');
  const results = new Map<number, { v: Measured; p?: Measured }>();
  const cli = await buildCli();
  for (const hours of spans) {
    const work = mkdtempSync(join(tmpdir(), 'vigil-bench-scale-'));
    try {
      const spec: FleetSpec = { instances, endpoints, start: end - hours * HOUR, durationMs: hours * HOUR, intervalMs };
      const file = join(work, 'fleet.om');
      writeFleet(file, spec);
      const size = statSync(file).size;
      const label = hours >= 24 ? `${hours / 24} d` : `${hours} h`;
      console.error(`tsdb-scale ${hours} h: ${fleetSamples(spec)} samples, ${(size / 1024 ** 2).toFixed(0)} MB backfill file`);
      const v = await vigil(cli, file, work, end);
      let p: Measured | undefined;
      let why = '';
      if (promBin && promtool) {
        try {
          p = await prometheus(promBin, promtool, file, work, end);
        } catch (err) {
          why = (err as Error).message.slice(0, 200);
        }
      } else why = 'prometheus/promtool not installed';
      results.set(hours, { v, p });
      // Progress on stderr: a long run shows what it has measured so far.
      console.error(`tsdb-scale ${hours} h: vigil ${JSON.stringify(v)} prometheus ${p ? JSON.stringify(p) : why}`);
      const samples = fleetSamples(spec);
      const dash = (x: number | undefined, f: (n: number) => string) => (x === undefined ? `not measured: ${why}` : f(x));
      rows.push(
        [label, 'Vigil', samples, (size / 1024 ** 2).toFixed(0), v.importS.toFixed(1), `${(v.startMs / 1000).toFixed(2)} (store ${v.openMs === undefined ? '?' : (v.openMs / 1000).toFixed(2)})`, mb(v.rssStart), v.queryMs.toFixed(0), mb(v.rssQuery), v.series],
        [
          label,
          'Prometheus 2.42',
          samples,
          (size / 1024 ** 2).toFixed(0),
          dash(p?.importS, (n) => n.toFixed(1)),
          dash(p?.startMs, (n) => (n / 1000).toFixed(2)),
          dash(p?.rssStart, mb),
          dash(p?.queryMs, (n) => n.toFixed(0)),
          dash(p?.rssQuery, mb),
          p ? p.series : '-',
        ],
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const first = results.get(spans[0]);
  const last = results.get(spans[spans.length - 1]);
  if (first && last) {
    const growth = last.v.rssStart / first.v.rssStart;
    notes.push(`Vigil RSS after start-up at ${spans[spans.length - 1]} h vs ${spans[0]} h: x${growth.toFixed(2)} (goal: at most x1.2)`);
    notes.push(
      `Vigil RSS after the query at ${spans[spans.length - 1]} h minus RSS after start-up at ${spans[0]} h: ${mb(last.v.rssQuery - first.v.rssStart)} MB (goal: within 20% plus the ${mb(CACHE_BYTES)} MB decoded-chunk cache)`,
    );
    if (last.p) {
      notes.push(`at ${spans[spans.length - 1]} h: Vigil/Prometheus RSS after start-up x${(last.v.rssStart / last.p.rssStart).toFixed(2)} (goal: at most x1), query time x${(last.v.queryMs / last.p.queryMs).toFixed(2)} (goal: at most x1.5)`);
    }
  }
  notes.push(
    `fleet: ${instances} instances x ${endpoints} endpoints x 10 = ${fleetSeries({ instances, endpoints, start: 0, durationMs: 0, intervalMs })} series, one sample per ${intervalMs / 1000} s with ±50 ms jitter; the query covers the last 7 days at 1 h step whatever the span kept`,
    'start-up: process spawn to /-/ready answering; RSS from ps; both processes run on the same machine one after the other',
    'Vigil runs as compiled JavaScript (an esbuild bundle of src/cli.ts) with its whole service (HTTP API, rules, collectors) started, as deployed',
  );
  return [
    {
      title: 'tsdb-scale: start-up, memory and a 7-day range query over backfilled data, Vigil vs Prometheus 2.42',
      columns: ['kept', 'store', 'samples', 'file MB', 'backfill s', 'start-up s', 'RSS after start MB', '7d query ms', 'RSS after query MB', 'result series'],
      rows,
      notes,
    },
  ];
}
