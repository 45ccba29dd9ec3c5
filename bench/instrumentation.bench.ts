/**
 * Overhead of the instrumentation plugin on the reference planning API:
 * the same API with and without it, each a child process on one core, loaded
 * by autocannon from this process on a cached read (GET /api/v1/plans/:id).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import pg from 'pg';
import { freePort, waitFor } from '../test/helpers/net.js';
import { PG_URL, REDIS_URL } from '../test/helpers/services.js';
import type { BenchTable } from './table.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const ROUNDS = 2;

async function startApi(instrument: boolean, dbUrl: string): Promise<{ proc: ChildProcess; url: string }> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'examples/planning-api/src/server.ts'], {
    env: { ...process.env, DATABASE_URL: dbUrl, REDIS_URL, PORT: String(port), HOST: '127.0.0.1', PLANNING_API_INSTRUMENT: instrument ? '1' : '0' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/api/v1/plans`).then((r) => r.ok, () => false)) || undefined, 30_000, 200);
  return { proc, url };
}

async function load(url: string): Promise<{ rps: number; p50: number; p99: number }> {
  const r = await autocannon({ url, connections: 32, duration: DURATION_S, pipelining: 1 });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

export default async function bench(): Promise<BenchTable[]> {
  const db = `planning_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  const u = new URL(PG_URL);
  u.pathname = `/${db}`;
  const results: Record<'with' | 'without', Array<{ rps: number; p50: number; p99: number }>> = { with: [], without: [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of ['without', 'with'] as const) {
        const api = await startApi(variant === 'with', u.toString());
        try {
          const plan = (await (await fetch(`${api.url}/api/v1/plans`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'bench', owner: 'bench' }) })).json()) as { id: string };
          const target = `${api.url}/api/v1/plans/${plan.id}`;
          await fetch(target); // warm the cache
          await autocannon({ url: target, connections: 16, duration: 2 });
          results[variant].push(await load(target));
        } finally {
          api.proc.kill('SIGTERM');
          await new Promise((r) => api.proc.once('exit', r));
        }
      }
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  }
  const best = (rs: Array<{ rps: number; p50: number; p99: number }>) => rs.reduce((a, b) => (b.rps > a.rps ? b : a));
  const w = best(results.with);
  const wo = best(results.without);
  return [
    {
      title: 'Planning API with and without the instrumentation plugin (GET /api/v1/plans/:id, Redis cache hit)',
      columns: ['variant', 'requests/s', 'p50 ms', 'p99 ms'],
      rows: [
        ['without plugin', wo.rps, wo.p50, wo.p99],
        ['with plugin', w.rps, w.p50, w.p99],
        ['ratio (with / without)', `${((w.rps / wo.rps) * 100).toFixed(1)}%`, '', `+${(w.p99 - wo.p99).toFixed(2)} ms`],
      ],
      notes: [
        `autocannon, 32 connections, ${DURATION_S}s per run, best of ${ROUNDS} runs each; API and load generator share this machine's cores.`,
        'Goal: requests/s with the plugin at least 95% of without. The plugin writes one JSON request log line per request (to /dev/null here).',
      ],
    },
  ];
}
