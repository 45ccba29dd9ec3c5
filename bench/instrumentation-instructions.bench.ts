/**
 * The instrumentation plugin's cost in instructions: the planning API's main
 * thread under callgrind, which counts the instructions it executes whatever
 * else the machine runs. Wall-clock and CPU-time figures on a shared 2-core
 * machine move by more than the 5% the plugin may cost; instruction counts
 * move by about 1%.
 *
 * Each variant (without the plugin, plugin with the request log off, plugin
 * with it on) starts under `valgrind --tool=callgrind`, is warmed up, then for
 * each window the counters are zeroed (`callgrind_control -z`), autocannon
 * sends a fixed number of requests, and the counters are dumped
 * (`callgrind_control -d`): the main thread's instructions divided by the
 * requests. Helper threads (GC, compiler, the libuv pool the log's writes run
 * on) are left out, as they do not hold up the event loop.
 *
 * Under valgrind the API runs some 50 times slower, so its clock turns about
 * 50 times more often per request than at full speed: each request sees a new
 * millisecond and latencies are tens of milliseconds. With VIGIL_BENCH_INSN_CLOCK_SLOWDOWN
 * set (say 50), the API's Date.now, performance.now and process.hrtime run that many times
 * slower, which brings both back to what they are at full speed.
 *
 * VIGIL_BENCH_INSN_ROUNDS processes per variant (default 3), VIGIL_BENCH_INSN_WINDOWS windows per
 * process (default 3), VIGIL_BENCH_INSN_REQUESTS per window (default 4000),
 * VIGIL_BENCH_INSN_VARIANTS (comma-separated subset of without,metrics,with),
 * VIGIL_BENCH_INSN_API_BUNDLE (the API bundled as one module from another checkout, its
 * migrations beside it, instead of this one's).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { withScratchDatabase } from './scratch-database.js';
import { freePort, waitFor } from '../test/helpers/net.js';
import { REDIS_URL, findBinary } from '../test/helpers/services.js';
import { goalVerdict, measured, notRun, ratioCell } from './anchor.js';
import type { BenchTable } from './table.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.VIGIL_BENCH_INSN_ROUNDS ?? 3);
const WINDOWS = Number(process.env.VIGIL_BENCH_INSN_WINDOWS ?? 3);
const REQUESTS = Number(process.env.VIGIL_BENCH_INSN_REQUESTS ?? 4000);
const WARM_UP = Number(process.env.VIGIL_BENCH_INSN_WARM_UP ?? 12_000);
const SLOWDOWN = Number(process.env.VIGIL_BENCH_INSN_CLOCK_SLOWDOWN ?? 1);
const ALL = ['without', 'metrics', 'with'] as const;
type Variant = (typeof ALL)[number];
const VARIANTS = (process.env.VIGIL_BENCH_INSN_VARIANTS?.split(',') ?? ALL).filter((v): v is Variant => (ALL as readonly string[]).includes(v));

/** The planning API as one ES module (callgrind starts it far faster than through tsx), its migrations beside it. */
async function bundleApi(): Promise<string> {
  const { build } = await import('esbuild');
  const outdir = join(root, 'node_modules', '.vigil-bench-planning');
  rmSync(outdir, { recursive: true, force: true });
  await build({ entryPoints: { server: join(root, 'examples/planning-api/src/server.ts') }, bundle: true, platform: 'node', format: 'esm', packages: 'external', outdir, outExtension: { '.js': '.mjs' }, logLevel: 'error' });
  cpSync(join(root, 'examples/planning-api/src/migrations'), join(outdir, 'migrations'), { recursive: true });
  return join(outdir, 'server.mjs');
}

interface Api {
  proc: ChildProcess;
  pid: number;
  url: string;
  outDir: string;
}

/** valgrind names its control pipes after $HOST, which the API reads as its listen address: both see the same value. */
const HOST = '127.0.0.1';

async function startApi(server: string, variant: Variant, dbUrl: string): Promise<Api> {
  const port = await freePort();
  const outDir = mkdtempSync(join(tmpdir(), 'vigil-cg-'));
  const nodeArgs = SLOWDOWN !== 1 ? ['--import', join(root, 'bench/slow-clock.mjs'), server] : [server];
  const proc = spawn('valgrind', ['-q', '--tool=callgrind', '--smc-check=all-non-file', '--separate-threads=yes', '--dump-line=no', `--callgrind-out-file=${join(outDir, 'cg')}`, process.execPath, ...nodeArgs], {
    env: { ...process.env, DATABASE_URL: dbUrl, REDIS_URL, PORT: String(port), HOST, PLANNING_API_INSTRUMENT: variant === 'without' ? '0' : '1', PLANNING_API_REQUEST_LOG: variant === 'with' ? '1' : '0', VIGIL_BENCH_INSN_CLOCK_SLOWDOWN: String(SLOWDOWN) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://${HOST}:${port}`;
  await waitFor(async () => (await fetch(`${url}/api/v1/plans`).then((r) => r.ok, () => false)) || undefined, 180_000, 500);
  return { proc, pid: proc.pid!, url, outDir };
}

function control(api: Api, flag: '-z' | '-d'): void {
  execFileSync('callgrind_control', [flag, String(api.pid)], { env: { ...process.env, HOST }, stdio: 'ignore' });
}

/** Instructions of the main thread (thread 1) in the newest dump. */
function mainThreadInstructions(api: Api): number {
  const dumps = readdirSync(api.outDir).filter((f) => /\.\d+-01$/.test(f));
  const newest = dumps.sort((a, b) => Number(a.split('.')[1].split('-')[0]) - Number(b.split('.')[1].split('-')[0])).at(-1);
  if (!newest) throw new Error('callgrind wrote no dump');
  const m = /^summary: (\d+)$/m.exec(readFileSync(join(api.outDir, newest), 'utf8'));
  if (!m) throw new Error(`no summary in ${newest}`);
  return Number(m[1]);
}

async function measureVariant(server: string, variant: Variant, dbUrl: string): Promise<number[]> {
  const api = await startApi(server, variant, dbUrl);
  const perRequest: number[] = [];
  try {
    const plan = (await (await fetch(`${api.url}/api/v1/plans`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'bench', owner: 'bench' }) })).json()) as { id: string };
    const target = `${api.url}/api/v1/plans/${plan.id}`;
    // Warm-up: the hot functions are optimised and the cache holds the plan.
    // After one window's worth, the next still ran about 10% fewer instructions.
    // Requests under valgrind on a loaded machine can take seconds: a time-out would be a request counted but not served.
    await autocannon({ url: target, connections: 32, amount: WARM_UP, timeout: 120 });
    for (let w = 0; w < WINDOWS; w++) {
      control(api, '-z');
      const r = await autocannon({ url: target, connections: 32, amount: REQUESTS, timeout: 120 });
      control(api, '-d');
      // A window with failed requests measures other work than the rest: left out, and said so.
      if (r.non2xx || r.errors) console.error(`${variant}: window left out: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
      else perRequest.push(mainThreadInstructions(api) / REQUESTS);
    }
  } finally {
    api.proc.kill('SIGTERM');
    await new Promise((r) => api.proc.once('exit', r));
    rmSync(api.outDir, { recursive: true, force: true });
  }
  return perRequest;
}

export default async function bench(): Promise<BenchTable[]> {
  const title = 'Planning API main-thread instructions per request under callgrind (GET /api/v1/plans/:id, Redis cache hit)';
  if (!findBinary('valgrind') || !findBinary('callgrind_control')) {
    return [{ title, columns: ['variant', 'instructions/request'], rows: [['all', ratioCell(NaN, notRun('valgrind not installed (apt-get install -y valgrind)'))]] }];
  }
  // VIGIL_BENCH_INSN_API_BUNDLE: a planning API bundled from another checkout, to compare code versions under the same load.
  const server = process.env.VIGIL_BENCH_INSN_API_BUNDLE ?? (await bundleApi());
  const results: Record<Variant, number[]> = { without: [], metrics: [], with: [] };
  await withScratchDatabase('planning_cg', async (dbUrl) => {
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of VARIANTS) results[variant].push(...(await measureVariant(server, variant, dbUrl)));
    }
  });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const names: Record<Variant, string> = { without: 'without plugin', metrics: 'plugin, request log off', with: 'plugin (metrics, health, request log)' };
  const bare = measured(results.without.length ? median(results.without) : undefined, 'the API without the plugin');
  // Capacity = requests the same instructions serve with the plugin, relative to without.
  const capacity = (v: Variant) => (results[v].length ? ratioCell(1 / median(results[v]), bare.ran ? { ran: true, value: 1 / bare.value } : bare) : 'not run');
  return [
    {
      title,
      columns: ['variant', 'instructions/request (median)', 'min', 'max', 'windows'],
      rows: [
        ...VARIANTS.map((v) => [names[v], median(results[v]), Math.min(...results[v]), Math.max(...results[v]), results[v].map((x) => (x / 1000).toFixed(1) + 'k').join(' ')]),
        ['capacity with plugin vs without (instructions)', capacity('with'), '', '', ''],
        ['capacity, request log off', capacity('metrics'), '', '', ''],
      ],
      notes: [
        `valgrind --tool=callgrind; autocannon, 32 connections, ${REQUESTS} requests per window (VIGIL_BENCH_INSN_REQUESTS) after ${WARM_UP} to warm up (VIGIL_BENCH_INSN_WARM_UP), ${WINDOWS} windows per process (VIGIL_BENCH_INSN_WINDOWS), ${ROUNDS} processes per variant (VIGIL_BENCH_INSN_ROUNDS).`,
        SLOWDOWN !== 1 ? `The API's clock ran ${SLOWDOWN} times slower (VIGIL_BENCH_INSN_CLOCK_SLOWDOWN), as at full speed.` : 'The API ran on the real clock: each request sees a new millisecond and latencies of tens of ms (VIGIL_BENCH_INSN_CLOCK_SLOWDOWN=50 slows the clock as valgrind slows the API).',
        goalVerdict('capacity with the plugin (request log on) at least 95% of without', results.with.length ? 1 / median(results.with) : NaN, bare.ran ? { ran: true, value: 1 / bare.value } : bare, { atLeast: 0.95 }),
      ],
    },
  ];
}
