import type { FloatHistogram } from '../model/histogram.js';
import type { Labels } from '../tsdb/types.js';

/** One element of an instant vector: a series and its value at the evaluation time. */
export interface InstantSample {
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
  /** Set for a native histogram sample (then `v` is meaningless). */
  readonly h?: FloatHistogram;
}

/** One series of a range result (matrix). Times in ms. */
export interface RangeSeries {
  readonly labels: Labels;
  readonly t: number[];
  readonly v: number[];
  /** Present when the series holds native histograms: h[i] set where point i is one. */
  readonly h?: Array<FloatHistogram | undefined>;
}

export type QueryValue =
  | { readonly resultType: 'vector'; readonly result: InstantSample[] }
  | { readonly resultType: 'matrix'; readonly result: RangeSeries[] }
  | { readonly resultType: 'scalar'; readonly t: number; readonly v: number }
  | { readonly resultType: 'string'; readonly t: number; readonly v: string };

export interface QueryResult {
  readonly value: QueryValue;
  readonly warnings: string[];
  readonly infos: string[];
}

export interface QueryOptions {
  /** Abort after this many ms with a `timeout` error. */
  timeoutMs?: number;
  /** Default 5m, as Prometheus. */
  lookbackDeltaMs?: number;
  /** Upper bound on samples held in memory at once by one query. */
  maxSamples?: number;
  signal?: AbortSignal;
  /**
   * Range queries of the embedded engine: evaluate the steps in slices of about
   * this many ms, yielding to the event loop between slices (health checks,
   * rule scheduling and notifications keep running next to a heavy query).
   * Unset: in one piece. Other engines may ignore it.
   */
  sliceMs?: number;
}

/** What rules, the HTTP API and the CLI need from a query engine, embedded or remote. */
export interface QueryEngine {
  instantQuery(expr: string, t: number, opts?: QueryOptions): Promise<QueryResult>;
  rangeQuery(expr: string, start: number, end: number, stepMs: number, opts?: QueryOptions): Promise<QueryResult>;
}

/** Error kinds of the Prometheus HTTP API (`errorType`). */
export type PromQLErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal' | 'too_many_samples';

export class PromQLError extends Error {
  constructor(
    readonly type: PromQLErrorType,
    message: string,
    /** Character offset in the expression, for parse errors. */
    readonly position?: number,
  ) {
    super(message);
    this.name = 'PromQLError';
  }
}
