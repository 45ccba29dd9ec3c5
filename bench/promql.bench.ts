/**
 * PromQL side by side with the real Prometheus on the same data: 10k series,
 * 1h at 15s, backfilled into Prometheus with promtool and scraped into Vigil's
 * compressed store (openTsdb in a temp dir), as Vigil runs. Each documented
 * rule as an instant query, and the dashboard query
 * `sum by (endpoint) (rate(http_requests_total[5m]))` as a 1h range at 15s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../src/promql/index.js';
import { queryApiServer } from '../test/api/prom-api-helpers.js';
import { generateDataset, prometheusWith, sampleCount } from '../test/helpers/prometheus.js';
import { measured, notRun, prometheusAnchor, ratioCell } from './anchor.js';
import { DOCUMENTED_RULES } from '../test/promql/differential-cases.js';
import { loadTsdb } from './load-tsdb.js';
import type { BenchTable } from './table.js';

const START = 1_699_999_200_000 + 3_000;
const SAMPLES = 240;
const END = START + (SAMPLES - 1) * 15_000;
const GOAL = 1.5;
const RUNS = 9;

/**
 * Median ms of each function over `runs` rounds after one warm-up each; the
 * functions take turns within a round, so load from other processes on the
 * machine falls on all of them alike.
 */
async function interleaved(fns: Array<() => unknown>, runs: number): Promise<number[]> {
  for (const fn of fns) await fn();
  const times = fns.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < fns.length; i++) {
      const t0 = performance.now();
      await fns[i]();
      times[i].push(performance.now() - t0);
    }
  }
  return times.map((ts) => ts.sort((x, y) => x - y)[Math.floor(ts.length / 2)]);
}


export default async function bench(): Promise<BenchTable[]> {
  const anchor = prometheusAnchor();
  const { prometheus, promtool } = 'reason' in anchor ? { prometheus: undefined, promtool: undefined } : anchor;
  const missing = 'reason' in anchor ? anchor.reason : '';
  const t0 = performance.now();
  // 10 instances x 28 endpoints x (8 counters + 2 x 14 histogram series) = 10,080 series of HTTP metrics.
  const data = generateDataset({ start: START, samples: SAMPLES, instances: 10, extraEndpoints: 24, seed: 11 });
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-promql-'));
  const storage = await loadTsdb(dir, data);
  const engine = createEngine(storage);
  const app = await queryApiServer({ engine, storage });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const vigilUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const loadMs = performance.now() - t0;
  const prom = prometheus && promtool ? await prometheusWith(data, { prometheus, promtool }) : undefined;
  const promMs = performance.now() - t0 - loadMs;

  const get = async (base: string, path: string) => {
    const res = await fetch(base + path);
    const body = (await res.json()) as { status: string; error?: string };
    if (body.status !== 'success') throw new Error(`${base}${path}: ${body.error}`);
  };
  const evalAt = END + 7_500;
  const rows: Array<Array<string | number>> = [];
  const row = async (label: string, inProcess: () => Promise<unknown>, path: string) => {
    const fns: Array<() => unknown> = [
      inProcess,
      () => {
        storage.decoded.clear();
        return inProcess();
      },
      () => get(vigilUrl, path),
    ];
    if (prom) fns.push(() => get(prom.url, path));
    const [a, cold, b, c = NaN] = await interleaved(fns, RUNS);
    const versus = prom ? measured(c, 'the query on Prometheus') : notRun(missing);
    const cell = ratioCell(b, versus);
    rows.push([label, a, cold, b, versus.ran ? c : 'not measured', cell, cell.endsWith('x') ? (b / c <= GOAL ? 'yes' : 'NO') : 'not measured']);
  };
  try {
    const rules = DOCUMENTED_RULES.slice(0, 12);
    for (const expr of rules) {
      await row(expr, () => engine.instantQuery(expr, evalAt), `/api/v1/query?query=${encodeURIComponent(expr)}&time=${evalAt / 1000}`);
    }
    const rangeExpr = 'sum by (endpoint) (rate(http_requests_total[5m]))';
    const [s, e] = [START + 7_500, END + 7_500];
    await row(
      `${rangeExpr} (range 1h, 15s step)`,
      () => engine.rangeQuery(rangeExpr, s, e, 15_000),
      `/api/v1/query_range?query=${encodeURIComponent(rangeExpr)}&start=${s / 1000}&end=${e / 1000}&step=15`,
    );
  } finally {
    await app.close();
    await prom?.stop();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return [
    {
      title: `PromQL: Vigil vs Prometheus, ${data.length.toLocaleString('en-US')} series, ${sampleCount(data).toLocaleString('en-US')} samples (1h at 15s)`,
      columns: ['query', 'vigil in-process ms', 'in-process, chunk cache cleared ms', 'vigil HTTP ms', 'prometheus HTTP ms', 'vigil/prom (HTTP)', `<= ${GOAL}x`],
      rows,
      notes: [
        `median of ${RUNS} rounds after one warm-up, the columns taking turns within each round; instant queries at the end of the hour`,
        prom ? 'oracle: Debian prometheus 2.42, data backfilled with promtool tsdb create-blocks-from openmetrics' : `not measured: ${missing}`,
        'Vigil reads from its compressed store (openTsdb, Gorilla chunks of 120 samples: one closed chunk and the head per series), loaded scrape by scrape',
        'decoded chunks stay in a bounded cache between queries (rules re-read the same windows every interval); the cleared-cache column decodes every chunk again on each run',
        'HTTP adds JSON encoding of the result (the range row returns 28 series x 240 points)',
        `setup: generate + append to Vigil's tsdb ${Math.round(loadMs)} ms, backfill + start Prometheus ${Math.round(promMs)} ms`,
      ],
    },
  ];
}
