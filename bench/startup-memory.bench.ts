/**
 * `npm run bench startup-memory`: where Vigil's resident memory goes right
 * after start-up on the tsdb-scale fleet (default: 7 days at one sample per
 * 300 s, the span and interval of the last tsdb-scale runs). Vigil is started
 * as tsdb-scale starts it, and read the moment /-/ready answers: RSS split
 * into the node binary's pages, other shared libraries, the V8 heap by space
 * (from Vigil's own nodejs_heap_space_* metrics, read after the RSS) and the
 * rest of the anonymous memory (malloc, thread stacks, buffers); the thread
 * count.
 *
 * Env: VIGIL_BENCH_STARTMEM_HOURS (168), VIGIL_BENCH_SCALE_INTERVAL (300),
 * VIGIL_BENCH_SCALE_INSTANCES / _ENDPOINTS as tsdb-scale;
 * VIGIL_BENCH_STARTMEM_ROUNDS (3; the median is shown);
 * VIGIL_BENCH_STARTMEM_CLIS: further CLI entry files (comma-separated, e.g. a
 * bundle kept from an earlier commit) measured in interleaved rounds with
 * the current one, for a before/after table.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeFleet } from '../src/tsdb/testing/fleet.js';
import { freePort, waitFor } from '../test/helpers/net.js';
import { buildCli } from './cli-bundle.js';
import type { BenchTable } from './table.js';

const exec = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const HOUR = 3600_000;
const MB = 1024 * 1024;

const env = (name: string, def: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
};

type Breakdown = Map<string, number>;

/** RSS by kind of mapping, in bytes, from /proc/PID/smaps. */
function mappings(pid: number): { rss: number; anon: number; nodeBinary: number; libs: number; brk: number } {
  let rss = 0;
  let anon = 0;
  let nodeBinary = 0;
  let libs = 0;
  let brk = 0;
  let name = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      name = head[1];
      continue;
    }
    const m = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (!m) continue;
    const bytes = Number(m[2]) * 1024;
    if (m[1] === 'Anonymous') {
      anon += bytes;
      continue;
    }
    rss += bytes;
    if (name === process.execPath) nodeBinary += bytes;
    else if (name === '[heap]') brk += bytes;
    else if (name.startsWith('/')) libs += bytes;
  }
  return { rss, anon, nodeBinary, libs, brk };
}

async function measure(cli: string, data: string): Promise<Breakdown> {
  const port = await freePort();
  const work = mkdtempSync(join(tmpdir(), 'vigil-bench-startmem-'));
  const cfg = join(work, 'vigil.yml');
  writeFileSync(cfg, `server:\n  listen: 127.0.0.1:${port}\nstorage:\n  path: ${data}\n  retention: 36500d\n  chunk_cache_size: ${64 * MB}\n`);
  const child = spawn(process.execPath, [cli, 'start', '--config', cfg], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`vigil exited: ${stderr}`);
      const r = await fetch(`${url}/-/ready`).catch(() => undefined);
      return r?.ok ? true : undefined;
    }, 120_000, 20);
    const pid = child.pid!;
    const m = mappings(pid);
    const threads = readdirSync(`/proc/${pid}/task`).length;
    const text = await (await fetch(`${url}/metrics`)).text();
    const heap = new Map<string, number>();
    for (const [, space, v] of text.matchAll(/^nodejs_heap_space_size_total_bytes\{space="(\w+)"\} (\S+)$/gm)) heap.set(space, Number(v));
    const heapTotal = [...heap.values()].reduce((a, b) => a + b, 0);
    const out: Breakdown = new Map([
      ['RSS', m.rss],
      ['  file-backed: node binary', m.nodeBinary],
      ['  file-backed: other libraries', m.rss - m.anon - m.nodeBinary],
      ['  anonymous', m.anon],
      ['    V8 heap (committed, all spaces)', heapTotal],
      ['      old space', heap.get('old') ?? NaN],
      ['      code space', heap.get('code') ?? NaN],
      ['      large objects', heap.get('large_object') ?? NaN],
      ['      young generation', heap.get('new') ?? NaN],
      ['    other (malloc, stacks, buffers)', m.anon - heapTotal],
      ['      of it the brk heap ([heap])', m.brk],
      ['threads', threads],
    ]);
    return out;
  } finally {
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await exited;
    rmSync(work, { recursive: true, force: true });
  }
}

export default async function bench(): Promise<BenchTable[]> {
  const hours = env('VIGIL_BENCH_STARTMEM_HOURS', 168);
  const rounds = env('VIGIL_BENCH_STARTMEM_ROUNDS', 3);
  const intervalMs = env('VIGIL_BENCH_SCALE_INTERVAL', 300) * 1000;
  const instances = env('VIGIL_BENCH_SCALE_INSTANCES', 10);
  const endpoints = env('VIGIL_BENCH_SCALE_ENDPOINTS', 10);
  const others = (process.env.VIGIL_BENCH_STARTMEM_CLIS ?? '').split(',').filter(Boolean);
  const cli = await buildCli();
  const clis = [cli, ...others];
  const work = mkdtempSync(join(tmpdir(), 'vigil-bench-startmem-data-'));
  try {
    const end = Math.floor(Date.now() / HOUR) * HOUR;
    const file = join(work, 'fleet.om');
    writeFleet(file, { instances, endpoints, start: end - hours * HOUR, durationMs: hours * HOUR, intervalMs });
    const data = join(work, 'data');
    await exec(process.execPath, [cli, 'tsdb', 'import', file, '--data', data, '--retention', '36500d'], { cwd: root, maxBuffer: 16 << 20 });
    rmSync(file);
    const runs: Breakdown[][] = clis.map(() => []);
    // Interleaved: a neighbour's load on the machine falls on every CLI alike.
    for (let r = 0; r < rounds; r++) for (let i = 0; i < clis.length; i++) runs[i].push(await measure(clis[i], data));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const keys = [...runs[0][0].keys()];
    const rows = keys.map((k) => [k, ...runs.map((rs) => (k === 'threads' ? String(median(rs.map((b) => b.get(k)!))) : (median(rs.map((b) => b.get(k)!)) / MB).toFixed(1)))]);
    return [
      {
        title: `startup-memory: Vigil's resident memory the moment /-/ready answers, ${hours} h of the tsdb-scale fleet (MB, median of ${rounds})`,
        columns: ['', 'this build', ...others.map((o) => o.replace(/.*node_modules\//, ''))],
        rows,
        notes: [
          'RSS and its parts from /proc/PID/smaps; the V8 heap from Vigil\'s nodejs_heap_space_size_total_bytes (committed, read after the RSS)',
          `fleet: ${instances * endpoints * 10} series, one sample per ${intervalMs / 1000} s; Vigil is the CLI bundle (bench/cli-bundle.ts) started as tsdb-scale starts it`,
        ],
      },
    ];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
