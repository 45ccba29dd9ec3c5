/**
 * Range queries evaluated in slices of steps, yielding to the event loop
 * between slices, so a long evaluation never holds the main thread for more
 * than a slice: health checks, rule scheduling and notifications keep running
 * next to a heavy dashboard query. Every step of a range query is evaluated at
 * its own timestamp, so evaluating the steps in slices and concatenating the
 * series gives the same result; the one exception, `@ start()` / `@ end()`
 * (which refer to the whole query's range), is evaluated in one piece.
 */
import { labelsKey } from '../model/labels.js';
import { compareLabels, MAX_STEPS } from './engine.js';
import { PromQLError, type QueryEngine, type QueryOptions, type QueryResult, type RangeSeries } from './types.js';

export interface SliceOptions {
  /** Wall time one slice should take; the slice size adapts to it. */
  sliceMs?: number;
  /** Steps in the first slice. */
  firstSteps?: number;
}

const DEFAULT_SLICE_MS = 5;
const DEFAULT_FIRST_STEPS = 30;
const DEFAULT_MAX_SAMPLES = 50_000_000;

/** `@ start()` / `@ end()` anywhere in the text (also inside strings: then the query just is not sliced). */
const RANGE_RELATIVE = /@\s*(start|end)\s*\(/;

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

interface Merged {
  labels: RangeSeries['labels'];
  t: number[];
  v: number[];
}

export async function slicedRangeQuery(
  engine: QueryEngine,
  expr: string,
  start: number,
  end: number,
  stepMs: number,
  o: QueryOptions = {},
  so: SliceOptions = {},
): Promise<QueryResult> {
  const valid = Number.isFinite(start) && Number.isFinite(end) && end >= start && stepMs > 0 && Number.isFinite(stepMs);
  const firstSteps = Math.max(1, so.firstSteps ?? DEFAULT_FIRST_STEPS);
  // Invalid arguments get the engine's own errors; short queries need no slicing.
  if (!valid || (end - start) / stepMs < firstSteps || (end - start) / stepMs > MAX_STEPS || RANGE_RELATIVE.test(expr)) return engine.rangeQuery(expr, start, end, stepMs, o);

  const sliceMs = so.sliceMs ?? DEFAULT_SLICE_MS;
  const deadline = o.timeoutMs === undefined ? undefined : Date.now() + o.timeoutMs;
  const maxSamples = o.maxSamples ?? DEFAULT_MAX_SAMPLES;
  const series = new Map<string, Merged>();
  const warnings = new Set<string>();
  const infos = new Set<string>();
  let points = 0;
  let steps = firstSteps;
  let from = start;
  while (from <= end) {
    if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new PromQLError('canceled', 'query was canceled');
    const to = Math.min(end, from + (steps - 1) * stepMs);
    const remaining = deadline === undefined ? undefined : deadline - Date.now();
    if (remaining !== undefined && remaining <= 0) throw new PromQLError('timeout', `query timed out in expression evaluation after ${o.timeoutMs}ms`);
    const t0 = performance.now();
    const r = await engine.rangeQuery(expr, from, to, stepMs, { ...o, timeoutMs: remaining });
    const took = performance.now() - t0;
    if (r.value.resultType !== 'matrix') return r;
    for (const s of r.value.result) {
      const key = labelsKey(s.labels);
      const m = series.get(key);
      if (m === undefined) series.set(key, { labels: s.labels, t: [...s.t], v: [...s.v] });
      else {
        for (let i = 0; i < s.t.length; i++) {
          m.t.push(s.t[i]);
          m.v.push(s.v[i]);
        }
      }
      points += s.t.length;
    }
    // The merged result is held in memory like one query's.
    if (points > maxSamples) throw new PromQLError('too_many_samples', 'query processing would load too many samples into memory in query execution');
    for (const w of r.warnings) warnings.add(w);
    for (const i of r.infos) infos.add(i);
    from = to + stepMs;
    // Size the next slice to take about sliceMs.
    steps = Math.max(1, Math.min(MAX_STEPS, Math.round((steps * sliceMs) / Math.max(took, 0.5))));
    if (from <= end) await yieldToLoop();
  }
  const result: RangeSeries[] = [...series.values()];
  result.sort((a, b) => compareLabels(a.labels, b.labels));
  return { value: { resultType: 'matrix', result }, warnings: [...warnings], infos: [...infos] };
}
