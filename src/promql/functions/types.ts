import type { Call, Expr, ValueType } from '../ast.js';
import type { RefTable, Sample, SeriesRef } from '../value.js';
import type { FloatHistogram } from '../../model/histogram.js';

/**
 * What a function implementation may use from the evaluator. Implementations
 * get the call node so they can evaluate their arguments lazily and keep
 * per-call state across the steps of a range query.
 */
export interface FnContext {
  readonly refs: RefTable;
  /** Query bounds and step (ms); an instant query has start = end and step 0. */
  readonly queryStart: number;
  readonly queryEnd: number;
  readonly queryStep: number;
  /** Steps of the evaluation at hand (a subquery has its own). */
  readonly start: number;
  readonly end: number;
  vector(e: Expr, t: number): Sample[];
  scalar(e: Expr, t: number): number;
  string(e: Expr): string;
  /** The samples' timestamps (s) instead of their values, for `timestamp()` on a selector. */
  timestamps(e: Expr, t: number): Sample[];
  /** Whether any series of a range-vector expression has samples in its window at t. */
  anyWindow(e: Expr, t: number): boolean;
  /** State kept for one AST node across the steps of one evaluation. */
  state<T>(key: object, init: () => T): T;
  /** A fresh stamp for duplicate detection through `SeriesRef.stamp`. */
  nextStamp(): number;
  warn(msg: string): void;
  info(msg: string): void;
  error(msg: string): Error;
}

/** What a range-vector function sees for one series at one step. */
export interface RangeCtx {
  t: Float64Array;
  v: Float64Array;
  lo: number;
  hi: number;
  /** Window (rangeStart, rangeEnd] in ms. */
  rangeStart: number;
  rangeEnd: number;
  rangeMs: number;
  /** Evaluation time of the step (ms). */
  evalT: number;
  /** Scalar arguments, in call order, excluding the range vector. */
  scalars: number[];
  /** Counter resets among samples 0..i of t/v (rate/increase), when known. */
  resets?: Int32Array;
  /** Native histogram samples (h[i] set where sample i is one), when the series has any. */
  h?: ReadonlyArray<FloatHistogram | undefined>;
}

/** A window's result when native histograms are involved: a float, a histogram, or nothing. */
export type NativeRangeResult = { v: number; h?: FloatHistogram } | undefined;

/** Returns the value or undefined for "no output for this series". */
export type RangeFn = (c: RangeCtx) => number | undefined;

/** One range vector (plus scalars) in, one value per series out; the engine walks the windows. */
export interface RangeImpl {
  readonly kind: 'range';
  readonly fn: RangeFn;
  /** The result is a sample of the series itself, so `__name__` stays. */
  readonly keepsName?: boolean;
  /** rate/increase: an info annotation when the metric name does not look like a counter. */
  readonly counter?: boolean;
  /** Checks the scalar arguments once per step (annotations or errors). */
  readonly check?: (c: FnContext, scalars: number[]) => void;
  /**
   * Handles windows holding native histograms. Without it the function reads
   * floats only: histogram samples are left out (with an info when floats remain).
   */
  readonly native?: (c: RangeCtx, fc: FnContext, metricName: string) => NativeRangeResult;
}

export type FunctionImpl =
  | RangeImpl
  | { readonly kind: 'vector'; readonly fn: (c: FnContext, e: Call, t: number) => Sample[] }
  | { readonly kind: 'scalar'; readonly fn: (c: FnContext, e: Call, t: number) => number };

/**
 * One PromQL function: its signature as Prometheus checks it, and its
 * implementation. `variadic` follows Prometheus: 0 = exactly `args`;
 * n > 0 = the last argument is optional and up to n-1 more of its type may
 * follow; -1 = the last argument is optional and any number may follow.
 */
export interface FunctionDef {
  readonly args: readonly ValueType[];
  readonly returns: ValueType;
  readonly variadic?: number;
  readonly impl: FunctionImpl;
}

export type FunctionTable = Readonly<Record<string, FunctionDef>>;

export type { SeriesRef };
