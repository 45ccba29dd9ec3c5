/**
 * Range queries as the HTTP API runs them: the embedded engine evaluates the
 * steps in slices of a few ms and yields to the event loop between slices, so
 * a heavy dashboard query never holds the main thread for long: health checks,
 * rule scheduling and notifications keep running next to it. One evaluator
 * covers the whole range, so what it loads and computes (selected series,
 * subqueries) is done once, not once per slice; the result is the same as in
 * one piece. A remote query backend waits on the network and ignores it.
 */
import type { QueryEngine, QueryOptions, QueryResult } from './types.js';

export interface SliceOptions {
  /** Wall time one slice may take before the evaluation yields. */
  sliceMs?: number;
}

const DEFAULT_SLICE_MS = 5;

export function slicedRangeQuery(engine: QueryEngine, expr: string, start: number, end: number, stepMs: number, o: QueryOptions = {}, so: SliceOptions = {}): Promise<QueryResult> {
  return engine.rangeQuery(expr, start, end, stepMs, { ...o, sliceMs: so.sliceMs ?? DEFAULT_SLICE_MS });
}
