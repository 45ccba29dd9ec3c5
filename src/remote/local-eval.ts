/**
 * Local evaluation over a query backend: the backend is asked only for raw
 * samples (`selector[window]` at an instant, which every Prometheus-compatible
 * API answers with the stored samples), and Vigil's own PromQL engine computes
 * the answer. Engines whose query language differs from PromQL in places
 * (VictoriaMetrics' MetricsQL does not extrapolate `rate()`/`increase()`)
 * then give the same answers, and alerts change state at the same steps, as
 * the embedded store and promtool's rule tests.
 *
 * Which samples a query needs is learnt from the engine itself: it runs first
 * over a store that records every read it cannot answer, those windows are
 * fetched, and it runs again. A later run may read more than an earlier one
 * (an operand skipped when another was empty), so this repeats until a run
 * misses nothing.
 */
import { exprToString } from '../promql/print.js';
import { createEngine, type EngineOptions } from '../promql/engine.js';
import { PromQLError, type QueryEngine, type QueryOptions, type QueryResult, type QueryValue } from '../promql/types.js';
import { labelsKey } from '../model/labels.js';
import { matchesAll } from '../model/matchers.js';
import type { Labels, Matcher, Querier, SeriesData } from '../tsdb/types.js';

/** Reads raw samples: the answer to `selector[windowMs]` evaluated at `at` (a matrix). */
export type RawRead = (selector: string, at: number, windowMs: number, opts?: QueryOptions) => Promise<QueryValue>;

/** Runs of the engine per query: the first learns the reads, the second normally answers. */
const MAX_RUNS = 4;
/** Reads of one run fetched at once. */
const FETCH_CONCURRENCY = 8;

interface Window {
  readonly mint: number;
  readonly maxt: number;
  readonly series: SeriesData[];
}

/** What one query has fetched so far, by selector text. */
class Fetched {
  private readonly windows = new Map<string, Window[]>();

  covering(selector: string, mint: number, maxt: number): Window | undefined {
    return this.windows.get(selector)?.find((w) => w.mint <= mint && w.maxt >= maxt);
  }

  add(selector: string, w: Window): void {
    const list = this.windows.get(selector) ?? [];
    list.push(w);
    this.windows.set(selector, list);
  }
}

interface Miss {
  readonly selector: string;
  readonly mint: number;
  readonly maxt: number;
}

/** A read-only store over the fetched windows that notes every read outside them. */
class RecordingQuerier implements Querier {
  readonly misses: Miss[] = [];

  constructor(
    private readonly fetched: Fetched,
    /** Matchers by selector text, to check what the backend answers. */
    private readonly matchersOf: Map<string, readonly Matcher[]>,
  ) {}

  select(matchers: readonly Matcher[], mint: number, maxt: number): SeriesData[] {
    const selector = selectorText(matchers);
    this.matchersOf.set(selector, matchers);
    const w = this.fetched.covering(selector, mint, maxt);
    if (!w) {
      this.misses.push({ selector, mint, maxt });
      return [];
    }
    const out: SeriesData[] = [];
    for (const s of w.series) {
      const cut = slice(s, mint, maxt);
      if (cut) out.push(cut);
    }
    return out;
  }

  labelNames(): string[] {
    return [];
  }

  labelValues(): string[] {
    return [];
  }

  series(matchers: readonly Matcher[], mint: number, maxt: number): Labels[] {
    return this.select(matchers, mint, maxt).map((s) => s.labels);
  }
}

function selectorText(matchers: readonly Matcher[]): string {
  return exprToString({ type: 'VectorSelector', name: undefined, matchers: [...matchers], offsetMs: 0, at: undefined, pos: 0, end: 0 } as never);
}

/** The samples of `s` within [mint, maxt], or undefined when there are none. */
function slice(s: SeriesData, mint: number, maxt: number): SeriesData | undefined {
  let i = 0;
  while (i < s.t.length && s.t[i] < mint) i++;
  let j = s.t.length;
  while (j > i && s.t[j - 1] > maxt) j--;
  if (i === j) return undefined;
  if (i === 0 && j === s.t.length) return s;
  return { labels: s.labels, t: s.t.subarray(i, j), v: s.v.subarray(i, j) };
}

function toSeries(value: QueryValue, matchers: readonly Matcher[] | undefined, selector: string): SeriesData[] {
  if (value.resultType !== 'matrix') throw new PromQLError('internal', `query backend answered ${value.resultType} to the raw read ${selector}[…]`);
  const bySeries = new Map<string, SeriesData>();
  for (const r of value.result) {
    // A backend must not hand back series the matchers exclude; drop any rather than evaluate over them.
    if (matchers && !matchesAll(r.labels, matchers)) continue;
    bySeries.set(labelsKey(r.labels), { labels: r.labels, t: Float64Array.from(r.t), v: Float64Array.from(r.v) });
  }
  return [...bySeries.values()];
}

export function createLocalEvalEngine(read: RawRead, engineOptions?: EngineOptions): QueryEngine {
  async function fetchAll(fetched: Fetched, misses: Miss[], matchersOf: Map<string, readonly Matcher[]>, opts?: QueryOptions): Promise<void> {
    // One read per selector, spanning every window of it the run missed.
    const spans = new Map<string, { mint: number; maxt: number }>();
    for (const m of misses) {
      const s = spans.get(m.selector);
      spans.set(m.selector, s ? { mint: Math.min(s.mint, m.mint), maxt: Math.max(s.maxt, m.maxt) } : { mint: m.mint, maxt: m.maxt });
    }
    const todo = [...spans];
    const work = async () => {
      for (let next = todo.shift(); next; next = todo.shift()) {
        const [selector, { mint, maxt }] = next;
        // Whole milliseconds, one more than the span: every backend keeps the window's start in it.
        const value = await read(selector, maxt, maxt - mint + 1, opts);
        fetched.add(selector, { mint, maxt, series: toSeries(value, matchersOf.get(selector), selector) });
      }
    };
    await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, todo.length) }, work));
  }

  async function evaluate(run: (engine: QueryEngine) => Promise<QueryResult>, opts?: QueryOptions): Promise<QueryResult> {
    const fetched = new Fetched();
    const matchersOf = new Map<string, readonly Matcher[]>();
    for (let i = 0; i < MAX_RUNS; i++) {
      const queriers: RecordingQuerier[] = [];
      const engine = createEngine({ querier: () => queriers[queriers.push(new RecordingQuerier(fetched, matchersOf)) - 1] }, engineOptions);
      const result = await run(engine);
      const misses = queriers.flatMap((q) => q.misses);
      if (misses.length === 0) return result;
      await fetchAll(fetched, misses, matchersOf, opts);
    }
    throw new PromQLError('internal', `query needed new samples after ${MAX_RUNS} reads from the query backend`);
  }

  return {
    instantQuery: (expr, t, opts) => evaluate((e) => e.instantQuery(expr, t, opts), opts),
    rangeQuery: (expr, start, end, step, opts) => evaluate((e) => e.rangeQuery(expr, start, end, step, opts), opts),
  };
}
