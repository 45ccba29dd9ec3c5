/**
 * `npm run bench tsdb-steady`: Vigil and Prometheus 2.42 scrape the same
 * 100k-series target every 15 s, side by side in the same run, for
 * VIGIL_BENCH_STEADY_MINUTES (default 30); RSS of both is sampled, and the
 * last sample divided by the series count is reported (and each minute's
 * sample printed on stderr as it is taken).
 *
 * VIGIL_BENCH_STEADY_CHECKPOINT (a duration, e.g. `2m`) sets Vigil's
 * storage.checkpoint_interval, to meet checkpoints early in a short run.
 *
 * The target serves counters that grow by a varying amount each scrape (four
 * payload variants in turn), so chunks hold realistic deltas.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '../test/helpers/net.js';
import { startPrometheus } from '../test/helpers/prometheus.js';
import { findBinary } from '../test/helpers/services.js';
import { buildCli } from './cli-bundle.js';
import type { BenchTable } from './table.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SERIES = Number(process.env.VIGIL_BENCH_STEADY_SERIES) || 100_000;
const MINUTES = Number(process.env.VIGIL_BENCH_STEADY_MINUTES) || 30;
const CHECKPOINT = process.env.VIGIL_BENCH_STEADY_CHECKPOINT;

function rss(pid: number): number {
  const r = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' });
  return Number(r.stdout.trim()) * 1024;
}

function payload(scrape: number): string {
  const parts: string[] = ['# TYPE app_requests_total counter'];
  for (let i = 0; i < SERIES; i++) {
    const v = Math.floor(i * 17.25 + scrape * (3 + (i % 7)) + ((scrape * i) % 5));
    parts.push(`app_requests_total{method="${i % 2 ? 'GET' : 'POST'}",endpoint="/api/v1/resource/${i % 1000}",status="${200 + (i % 5)}",pod="sical-backend-${Math.floor(i / 1000)}"} ${v}`);
  }
  return parts.join('\n') + '\n';
}

export default async function bench(): Promise<BenchTable[]> {
  const variants = [0, 1, 2, 3].map((k) => payload(k));
  const counters = new Map<string, number>();
  const server = createServer((req, res) => {
    const who = req.headers['user-agent']?.includes('Prometheus') ? 'prom' : 'vigil';
    const n = counters.get(who) ?? 0;
    counters.set(who, n + 1);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(variants[n % variants.length]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const work = mkdtempSync(join(tmpdir(), 'vigil-bench-steady-'));
  const cli = await buildCli();
  const port = await freePort();
  const cfg = join(work, 'vigil.yml');
  writeFileSync(
    cfg,
    `global:\n  scrape_interval: 15s\n  scrape_timeout: 10s\nserver:\n  listen: 127.0.0.1:${port}\nstorage:\n  path: ${join(work, 'vigil-data')}\n${CHECKPOINT ? `  checkpoint_interval: ${CHECKPOINT}\n` : ''}scrape_configs:\n  - job_name: load\n    sample_limit: 0\n    static_configs: [{targets: ['${target}']}]\n`,
  );
  const child = spawn(process.execPath, [cli, 'start', '--config', cfg], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const promBin = findBinary('prometheus');
  let prom: Awaited<ReturnType<typeof startPrometheus>> | undefined;
  let promPid = 0;
  let why = '';
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`vigil exited: ${stderr}`);
      const r = await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => undefined);
      return r?.ok ? true : undefined;
    }, 120_000);
    if (promBin) {
      prom = await startPrometheus({
        prometheus: promBin,
        config: `global:\n  scrape_interval: 15s\n  scrape_timeout: 10s\nscrape_configs:\n  - job_name: load\n    static_configs: [{targets: ['${target}']}]\n`,
      });
      promPid = Number(spawnSync('sh', ['-c', `ss -ltnp 'sport = :${prom.port}' | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2`], { encoding: 'utf8' }).stdout.trim());
    } else why = 'prometheus not installed';
    const started = Date.now();
    const until = started + MINUTES * 60_000;
    let v = 0;
    let p = 0;
    let traced = 0;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 10_000));
      v = rss(child.pid!);
      if (promPid) p = rss(promPid);
      // The slope matters as much as the end: a minute-by-minute trace on stderr.
      const minute = Math.floor((Date.now() - started) / 60_000);
      if (minute > traced) {
        traced = minute;
        process.stderr.write(`tsdb-steady: minute ${minute}: Vigil ${(v / 1024 ** 2).toFixed(0)} MB${promPid ? `, Prometheus ${(p / 1024 ** 2).toFixed(0)} MB` : ''}\n`);
      }
    }
    const rows: Array<Array<string | number>> = [
      ['Vigil', counters.get('vigil') ?? 0, (v / 1024 ** 2).toFixed(0), (v / SERIES).toFixed(0)],
      ['Prometheus 2.42', promPid ? (counters.get('prom') ?? 0) : `not measured: ${why}`, promPid ? (p / 1024 ** 2).toFixed(0) : '-', promPid ? (p / SERIES).toFixed(0) : '-'],
    ];
    return [
      {
        title: `tsdb-steady: ${SERIES.toLocaleString('en-US')} series scraped every 15 s for ${MINUTES} min, both at once`,
        columns: ['store', 'scrapes', 'RSS at the end MB', 'RSS bytes per series'],
        rows,
        notes: ['goal: Vigil RSS per series at most Prometheus 2.42\'s', 'Vigil runs as an esbuild bundle of src/cli.ts (compiled JavaScript), its whole service started'],
      },
    ];
  } finally {
    child.kill('SIGTERM');
    await prom?.stop();
    server.close();
    await new Promise((r) => setTimeout(r, 1000));
    rmSync(work, { recursive: true, force: true });
  }
}
