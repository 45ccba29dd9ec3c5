/**
 * The real Prometheus as a test oracle: generate data, backfill it with
 * `promtool tsdb create-blocks-from openmetrics`, and run `prometheus` on that
 * storage in a temp dir on a free loopback port. Usable by any test or
 * benchmark that wants Prometheus's answers for the same samples it loads
 * into Vigil.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Labels } from '../../src/tsdb/types.js';
import { startDaemon } from './daemon.js';

const run = promisify(execFile);

/** One generated series: its labels and samples (ms, value), time-ordered. */
export interface GenSeries {
  labels: Labels;
  t: number[];
  v: number[];
}

export interface RunningPrometheus {
  url: string;
  port: number;
  dir: string;
  /** The process's stderr so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface StartPrometheusOptions {
  /** Binary path (from requireBinary). */
  prometheus: string;
  /** Existing storage directory (e.g. filled by backfill); a temp one otherwise. */
  dataDir?: string;
  /** prometheus.yml content; an empty config by default (nothing scraped). */
  config?: string;
  extraArgs?: string[];
}

/** Starts Prometheus and waits until /-/ready answers. `stop()` kills it and removes the temp dir it made. */
export async function startPrometheus(opts: StartPrometheusOptions): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-prom-'));
  const dataDir = opts.dataDir ?? join(dir, 'data');
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, opts.config ?? 'global:\n  scrape_interval: 15s\n');
  const running = await startDaemon({
    name: 'prometheus',
    bin: opts.prometheus,
    args: (port) => [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Backfilled blocks may lie years back; keep them.
      '--storage.tsdb.retention.time=100y',
      '--log.level=warn',
      ...(opts.extraArgs ?? []),
    ],
    dir,
    readyTimeoutMs: 60_000,
    killAfterMs: 10_000,
  });
  return { ...running, dir };
}

/** Writes series as OpenMetrics text with timestamps (seconds), grouped by metric name. */
export async function writeOpenMetrics(series: readonly GenSeries[], file: string): Promise<void> {
  const byName = new Map<string, GenSeries[]>();
  for (const s of series) {
    const name = s.labels.__name__;
    if (!byName.has(name)) byName.set(name, []);
    byName.get(name)!.push(s);
  }
  const out = createWriteStream(file);
  const write = (chunk: string) => new Promise<void>((resolve) => (out.write(chunk) ? resolve() : out.once('drain', () => resolve())));
  for (const [name, list] of byName) {
    for (const s of list) {
      const pairs = Object.entries(s.labels)
        .filter(([k]) => k !== '__name__')
        .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
      const head = pairs.length ? `${name}{${pairs.join(',')}} ` : `${name} `;
      let buf = '';
      for (let i = 0; i < s.t.length; i++) buf += `${head}${s.v[i]} ${s.t[i] / 1000}\n`;
      await write(buf);
    }
  }
  await write('# EOF\n');
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** Backfills an OpenMetrics file into a Prometheus storage directory. */
export async function backfill(promtool: string, openMetricsFile: string, dataDir: string): Promise<void> {
  await run(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', openMetricsFile, dataDir], { maxBuffer: 64 * 1024 * 1024 });
}

/** Backfills `series` and starts Prometheus on them; `stop()` removes everything. */
export async function prometheusWith(series: readonly GenSeries[], bins: { prometheus: string; promtool: string }): Promise<RunningPrometheus> {
  const work = mkdtempSync(join(tmpdir(), 'vigil-promdata-'));
  const file = join(work, 'data.om');
  const dataDir = join(work, 'tsdb');
  try {
    await writeOpenMetrics(series, file);
    await backfill(bins.promtool, file, dataDir);
    rmSync(file);
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
  const prom = await startPrometheus({ prometheus: bins.prometheus, dataDir }).catch((err: unknown) => {
    rmSync(work, { recursive: true, force: true });
    throw err;
  });
  return {
    ...prom,
    stop: async () => {
      await prom.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** A small deterministic PRNG (mulberry32): same seed, same data in every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DatasetOptions {
  /** First sample time (ms). Samples are every `intervalMs` from here. */
  start: number;
  samples: number;
  intervalMs?: number;
  /** API instances; every other metric scales with it. */
  instances?: number;
  /** Extra `endpoint` values beyond the documented ones, to reach large series counts. */
  extraEndpoints?: number;
  seed?: number;
}

export const HISTOGRAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The documented metrics (/work/shared seed notes §2) as the planning API and
 * exporters would expose them: counters with resets, histograms, gauges, `up`
 * for each job with outages, and a few missing scrapes.
 */
export function generateDataset(o: DatasetOptions): GenSeries[] {
  const rand = rng(o.seed ?? 42);
  const step = o.intervalMs ?? 15_000;
  const instances = o.instances ?? 3;
  const times = Array.from({ length: o.samples }, (_, i) => o.start + i * step);
  const out: GenSeries[] = [];
  // Some scrapes fail: the same few indexes are missing on a tenth of the series.
  const gappy = () => rand() < 0.1;
  const skip = new Set([7, 8, 53, Math.floor(o.samples / 2), o.samples - 20]);

  const counter = (labels: Labels, rate: number, resetProb = 0) => {
    const s: GenSeries = { labels, t: [], v: [] };
    const gaps = gappy();
    let v = Math.floor(rand() * 1000);
    for (let i = 0; i < times.length; i++) {
      v += rate * (step / 1000) * (0.5 + rand());
      if (rand() < resetProb) v = rand() * 5;
      if (gaps && skip.has(i)) continue;
      s.t.push(times[i]);
      s.v.push(Math.round(v * 1000) / 1000);
    }
    out.push(s);
  };
  const gauge = (labels: Labels, base: number, spread: number) => {
    const s: GenSeries = { labels, t: [], v: [] };
    const gaps = gappy();
    for (let i = 0; i < times.length; i++) {
      if (gaps && skip.has(i)) continue;
      s.t.push(times[i]);
      s.v.push(Math.round((base + spread * Math.sin(i / 9 + base) + spread * 0.3 * rand()) * 100) / 100);
    }
    out.push(s);
  };

  const endpoints = ['/api/plans', '/api/users', '/api/sessions', '/health'];
  for (let e = 0; e < (o.extraEndpoints ?? 0); e++) endpoints.push(`/api/r${e}`);
  const statuses = ['200', '404', '500', '503'];
  for (let n = 0; n < instances; n++) {
    const base = { job: 'sical-backend', instance: `api-${n}:8080` };
    for (const endpoint of endpoints) {
      for (const method of ['GET', 'POST']) {
        for (const status of statuses) {
          const rate = status === '200' ? 2 + rand() * 8 : status === '404' ? rand() * 0.5 : rand() * 0.4;
          counter({ __name__: 'http_requests_total', ...base, method, endpoint, status }, rate, 0.004);
        }
        // Histogram: cumulative bucket counters that stay monotonic across le.
        const hl = { ...base, method, endpoint };
        const series = [...HISTOGRAM_BUCKETS.map(String), '+Inf'].map((le) => ({ labels: { __name__: 'http_request_duration_seconds_bucket', ...hl, le }, t: [] as number[], v: [] as number[] }));
        const sum: GenSeries = { labels: { __name__: 'http_request_duration_seconds_sum', ...hl }, t: [], v: [] };
        const count: GenSeries = { labels: { __name__: 'http_request_duration_seconds_count', ...hl }, t: [], v: [] };
        const acc = new Array<number>(series.length).fill(0);
        let total = 0;
        const slow = rand() * 2;
        for (let i = 0; i < times.length; i++) {
          const reqs = Math.floor(rand() * 20);
          for (let r = 0; r < reqs; r++) {
            const d = Math.exp(rand() * 4 - 5) * (1 + slow * (i > times.length / 2 ? 1 : 0.2)) * (rand() < 0.05 ? 30 : 1);
            total += d;
            for (let b = 0; b < series.length; b++) if (b === series.length - 1 || d <= HISTOGRAM_BUCKETS[b]) acc[b]++;
          }
          for (let b = 0; b < series.length; b++) {
            series[b].t.push(times[i]);
            series[b].v.push(acc[b]);
          }
          sum.t.push(times[i]);
          sum.v.push(Math.round(total * 1e6) / 1e6);
          count.t.push(times[i]);
          count.v.push(acc[series.length - 1]);
        }
        out.push(...series, sum, count);
      }
    }
    gauge({ __name__: 'process_resident_memory_bytes', ...base }, 350e6 + n * 40e6, 80e6);
    counter({ __name__: 'process_cpu_seconds_total', ...base }, 0.5 + n * 0.2, n === 1 ? 0.01 : 0);
    gauge({ __name__: 'active_connections', ...base }, 20 + n, 15);
    gauge({ __name__: 'sical_build_info', ...base, version: `1.${n % 2}.0` }, 1, 0);
    for (const cache_type of ['plans', 'sessions']) {
      counter({ __name__: 'cache_hits_total', ...base, cache_type }, 5 + rand() * 5);
      counter({ __name__: 'cache_misses_total', ...base, cache_type }, rand());
    }
  }
  for (const [job, inst] of [
    ['postgres', 'db:9187'],
    ['redis', 'cache:9121'],
    ['prometheus', 'localhost:9090'],
    ['nginx', 'nginx:9113'],
  ]) {
    const s: GenSeries = { labels: { __name__: 'up', job, instance: inst }, t: [], v: [] };
    // postgres and redis have an outage in the middle of the window.
    const down = job === 'postgres' || job === 'redis' ? [Math.floor(times.length * 0.4), Math.floor(times.length * 0.6)] : [-1, -1];
    for (let i = 0; i < times.length; i++) {
      s.t.push(times[i]);
      s.v.push(i >= down[0] && i < down[1] ? 0 : 1);
    }
    out.push(s);
  }
  for (let n = 0; n < instances; n++) out.push(upSeries({ job: 'sical-backend', instance: `api-${n}:8080` }, times));
  for (let p = 0; p < 3; p++) counter({ __name__: 'kube_pod_container_status_restarts_total', namespace: 'sical', pod: `sical-backend-${p}` }, p * 0.002, 0);
  return out;
}

function upSeries(labels: Record<string, string>, times: number[]): GenSeries {
  return { labels: { __name__: 'up', ...labels }, t: [...times], v: times.map(() => 1) };
}

/** Total samples of a dataset. */
export function sampleCount(series: readonly GenSeries[]): number {
  return series.reduce((n, s) => n + s.t.length, 0);
}
