/**
 * Overhead of the instrumentation plugin on the reference planning API:
 * the same API with and without it, each a child process on one core, loaded
 * by autocannon from this process on a cached read (GET /api/v1/plans/:id).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import { withScratchDatabase } from './scratch-database.js';
import { freePort, waitFor } from '../test/helpers/net.js';
import { REDIS_URL } from '../test/helpers/services.js';
import { goalVerdict, measured, ratioCell } from './anchor.js';
import { cpuSeconds } from './cpu.js';
import type { BenchTable } from './table.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

type Variant = 'without' | 'metrics' | 'with';

async function startApi(variant: Variant, dbUrl: string): Promise<{ proc: ChildProcess; url: string }> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'examples/planning-api/src/server.ts'], {
    env: { ...process.env, DATABASE_URL: dbUrl, REDIS_URL, PORT: String(port), HOST: '127.0.0.1', PLANNING_API_INSTRUMENT: variant === 'without' ? '0' : '1', PLANNING_API_REQUEST_LOG: variant === 'with' ? '1' : '0' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/api/v1/plans`).then((r) => r.ok, () => false)) || undefined, 30_000, 200);
  return { proc, url };
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU per request: robust against other load on the machine. */
  cpuUs: number;
}

async function load(url: string, pid: number): Promise<Result> {
  const c0 = cpuSeconds(pid);
  const r = await autocannon({ url, connections: 32, duration: DURATION_S, pipelining: 1 });
  const cpu = cpuSeconds(pid) - c0;
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, cpuUs: (cpu / r.requests.total) * 1e6 };
}

export default async function bench(): Promise<BenchTable[]> {
  const results: Record<Variant, Result[]> = { without: [], metrics: [], with: [] };
  await withScratchDatabase('planning_bench', async (dbUrl) => {
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of ['without', 'metrics', 'with'] as const) {
        const api = await startApi(variant, dbUrl);
        try {
          const plan = (await (await fetch(`${api.url}/api/v1/plans`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'bench', owner: 'bench' }) })).json()) as { id: string };
          const target = `${api.url}/api/v1/plans/${plan.id}`;
          await fetch(target); // warm the cache
          await autocannon({ url: target, connections: 16, duration: 2 });
          results[variant].push(await load(target, api.proc.pid!));
        } finally {
          api.proc.kill('SIGTERM');
          await new Promise((r) => api.proc.once('exit', r));
        }
      }
    }
  });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  // Other load on the machine only ever adds CPU time, so the least CPU per request of the rounds is the best estimate.
  const least = (xs: number[]) => Math.min(...xs);
  const row = (name: string, rs: Result[]) => [name, median(rs.map((r) => r.rps)), least(rs.map((r) => r.cpuUs)), median(rs.map((r) => r.cpuUs)), median(rs.map((r) => r.p50)), median(rs.map((r) => r.p99))];
  const bare = measured(least(results.without.map((r) => r.cpuUs)), 'the API without the plugin');
  // Capacity = requests the same CPU serves with the plugin, relative to without: bare CPU / plugin CPU.
  const capacity = (v: Variant) => ratioCell(1 / least(results[v].map((r) => r.cpuUs)), bare.ran ? { ran: true, value: 1 / bare.value } : bare);
  const rpsRatio = ratioCell(median(results.with.map((r) => r.rps)), measured(median(results.without.map((r) => r.rps)), 'the API without the plugin'));
  return [
    {
      title: 'Planning API with and without the instrumentation plugin (GET /api/v1/plans/:id, Redis cache hit)',
      columns: ['variant', 'requests/s (median)', 'server CPU µs/request (least)', 'server CPU µs/request (median)', 'p50 ms', 'p99 ms'],
      rows: [
        row('without plugin', results.without),
        row('plugin, request log off', results.metrics),
        row('plugin (metrics, health, request log)', results.with),
        ['capacity with plugin vs without (CPU per request)', capacity('with'), '', '', '', ''],
        ['capacity, request log off', capacity('metrics'), '', '', '', ''],
        ['measured requests/s with plugin vs without', rpsRatio, '', '', '', ''],
      ],
      notes: [
        `autocannon, 32 connections, ${DURATION_S}s per run (BENCH_DURATION_S), ${ROUNDS} interleaved rounds (BENCH_ROUNDS); API and load generator share the machine.`,
        'Capacity compares server CPU per request (from /proc), least of the rounds: other load on the machine adds CPU time, never removes it.',
        goalVerdict('capacity with the plugin (request log on) at least 95% of without', 1 / least(results.with.map((r) => r.cpuUs)), bare.ran ? { ran: true, value: 1 / bare.value } : bare, { atLeast: 0.95 }),
        'Each request writes one JSON log line (to /dev/null here).',
      ],
    },
  ];
}
