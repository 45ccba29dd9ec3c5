import { MeanAcc, kahanAdd, linearRegression, quantile, type Kahan } from '../mathx.js';
import { formatFloat } from '../../model/strconv.js';
import { nativeChanges, nativeExtrapolatedRate, nativeInstantValue, nativeSumOrAvg, sampleAt } from './range-native.js';
import type { FnContext, FunctionDef, FunctionTable, RangeCtx, RangeFn, RangeImpl } from './types.js';

function extrapolatedRate(c: RangeCtx, isCounter: boolean, isRate: boolean): number | undefined {
  const { v, lo, hi } = c;
  const n = hi - lo;
  if (n < 2) return undefined;
  let result = v[hi - 1] - v[lo];
  if (isCounter && (c.resets === undefined || c.resets[hi - 1] !== c.resets[lo])) {
    let prev = v[lo];
    for (let i = lo + 1; i < hi; i++) {
      if (v[i] < prev) result += prev;
      prev = v[i];
    }
  }
  return result * extrapolationFactor(c, n, isRate, isCounter && result > 0 && v[lo] >= 0 ? v[lo] / result : undefined);
}

/**
 * How far the change between the first and last of n samples is stretched to
 * cover the window (and turned into a per-second rate). `zeroShare`, for
 * counters, bounds the stretch before the first sample to where the counter
 * would have been zero.
 */
export function extrapolationFactor(c: RangeCtx, n: number, isRate: boolean, zeroShare: number | undefined): number {
  const firstT = c.t[c.lo];
  const lastT = c.t[c.hi - 1];
  let durationToStart = (firstT - c.rangeStart) / 1000;
  let durationToEnd = (c.rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const avgBetween = sampledInterval / (n - 1);
  const threshold = avgBetween * 1.1;
  if (durationToStart >= threshold) durationToStart = avgBetween / 2;
  if (zeroShare !== undefined) {
    const durationToZero = sampledInterval * zeroShare;
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = avgBetween / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= c.rangeMs / 1000;
  return factor;
}

function instantValue(c: RangeCtx, isRate: boolean): number | undefined {
  const { t, v, lo, hi } = c;
  if (hi - lo < 2) return undefined;
  const last = v[hi - 1];
  const prev = v[hi - 2];
  let result = last - prev;
  if (isRate && last < prev) result = last;
  const interval = t[hi - 1] - t[hi - 2];
  if (interval === 0) return undefined;
  if (isRate) result /= interval / 1000;
  return result;
}

function sumOver(c: RangeCtx): number {
  const k: Kahan = { sum: 0, c: 0 };
  for (let i = c.lo; i < c.hi; i++) kahanAdd(k, c.v[i]);
  return k.sum + k.c;
}

function variance(c: RangeCtx): number {
  let count = 0;
  const mean: Kahan = { sum: 0, c: 0 };
  const aux: Kahan = { sum: 0, c: 0 };
  for (let i = c.lo; i < c.hi; i++) {
    const f = c.v[i];
    count++;
    const delta = f - (mean.sum + mean.c);
    kahanAdd(mean, delta / count);
    kahanAdd(aux, delta * (f - (mean.sum + mean.c)));
  }
  return (aux.sum + aux.c) / count;
}

function values(c: RangeCtx): number[] {
  const out: number[] = [];
  for (let i = c.lo; i < c.hi; i++) out.push(c.v[i]);
  return out;
}

function doubleExponentialSmoothing(c: RangeCtx): number | undefined {
  const [sf, tf] = c.scalars;
  if (c.hi - c.lo < 2) return undefined;
  let s0 = 0;
  let s1 = c.v[c.lo];
  let b = c.v[c.lo + 1] - c.v[c.lo];
  for (let i = c.lo + 1; i < c.hi; i++) {
    const x = sf * c.v[i];
    if (i > c.lo + 1) b = tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
}

function over(fn: RangeFn, extra: Omit<RangeImpl, 'kind' | 'fn'> = {}): FunctionDef {
  return { args: ['matrix'], returns: 'vector', impl: { kind: 'range', fn, ...extra } };
}

/** Prometheus answers an out-of-range quantile (±Inf, NaN) and warns. */
export function quantileWarning(c: FnContext, q: number): void {
  if (Number.isNaN(q) || q < 0 || q > 1) c.warn(`quantile value should be between 0 and 1, got ${formatFloat(q, 'g')}`);
}

/** Functions taking one range vector (plus scalars), returning a value per series. */
export const RANGE_FUNCTIONS: FunctionTable = {
  rate: over((c) => extrapolatedRate(c, true, true), { counter: true, native: nativeExtrapolatedRate(true, true) }),
  increase: over((c) => extrapolatedRate(c, true, false), { counter: true, native: nativeExtrapolatedRate(true, false) }),
  delta: over((c) => extrapolatedRate(c, false, false), { native: nativeExtrapolatedRate(false, false) }),
  irate: over((c) => instantValue(c, true), { native: nativeInstantValue(true) }),
  idelta: over((c) => instantValue(c, false), { native: nativeInstantValue(false) }),
  deriv: over((c) => (c.hi - c.lo < 2 ? undefined : linearRegression(c.t, c.v, c.lo, c.hi, c.t[c.lo])[0])),
  predict_linear: {
    args: ['matrix', 'scalar'],
    returns: 'vector',
    impl: {
      kind: 'range',
      fn: (c) => {
        if (c.hi - c.lo < 2) return undefined;
        const [slope, intercept] = linearRegression(c.t, c.v, c.lo, c.hi, c.evalT);
        return intercept + slope * c.scalars[0];
      },
    },
  },
  resets: over((c) => {
    let n = 0;
    for (let i = c.lo + 1; i < c.hi; i++) if (c.v[i] < c.v[i - 1]) n++;
    return n;
  }, { native: nativeChanges(true) }),
  changes: over((c) => {
    let n = 0;
    for (let i = c.lo + 1; i < c.hi; i++) {
      const a = c.v[i - 1];
      const b = c.v[i];
      if (a !== b && !(Number.isNaN(a) && Number.isNaN(b))) n++;
    }
    return n;
  }, { native: nativeChanges(false) }),
  avg_over_time: over((c) => {
    const m = new MeanAcc();
    for (let i = c.lo; i < c.hi; i++) m.add(c.v[i]);
    return m.value();
  }, { native: nativeSumOrAvg(true) }),
  sum_over_time: over(sumOver, { native: nativeSumOrAvg(false) }),
  count_over_time: over((c) => c.hi - c.lo, { native: (c) => ({ v: c.hi - c.lo }) }),
  min_over_time: over((c) => {
    let m = c.v[c.lo];
    for (let i = c.lo + 1; i < c.hi; i++) if (c.v[i] < m || Number.isNaN(m)) m = c.v[i];
    return m;
  }),
  max_over_time: over((c) => {
    let m = c.v[c.lo];
    for (let i = c.lo + 1; i < c.hi; i++) if (c.v[i] > m || Number.isNaN(m)) m = c.v[i];
    return m;
  }),
  last_over_time: over((c) => c.v[c.hi - 1], { keepsName: true, native: (c) => sampleAt(c, c.hi - 1) }),
  first_over_time: over((c) => c.v[c.lo], { keepsName: true, native: (c) => sampleAt(c, c.lo) }),
  ts_of_last_over_time: over((c) => c.t[c.hi - 1] / 1000, { native: (c) => ({ v: c.t[c.hi - 1] / 1000 }) }),
  ts_of_first_over_time: over((c) => c.t[c.lo] / 1000, { native: (c) => ({ v: c.t[c.lo] / 1000 }) }),
  ts_of_max_over_time: over((c) => {
    let m = c.lo;
    for (let i = c.lo + 1; i < c.hi; i++) if (c.v[i] >= c.v[m] || Number.isNaN(c.v[m])) m = i;
    return c.t[m] / 1000;
  }),
  ts_of_min_over_time: over((c) => {
    let m = c.lo;
    for (let i = c.lo + 1; i < c.hi; i++) if (c.v[i] <= c.v[m] || Number.isNaN(c.v[m])) m = i;
    return c.t[m] / 1000;
  }),
  present_over_time: over(() => 1, { native: () => ({ v: 1 }) }),
  stdvar_over_time: over(variance),
  stddev_over_time: over((c) => Math.sqrt(variance(c))),
  quantile_over_time: {
    args: ['scalar', 'matrix'],
    returns: 'vector',
    impl: { kind: 'range', fn: (c) => quantile(c.scalars[0], values(c)), check: (c, s) => quantileWarning(c, s[0]) },
  },
  mad_over_time: over((c) => {
    const vals = values(c);
    // A NaN sample leaves the median, and so the deviation, undefined.
    if (vals.some(Number.isNaN)) return NaN;
    const median = quantile(0.5, vals);
    return quantile(0.5, vals.map((x) => Math.abs(x - median)));
  }),
  double_exponential_smoothing: {
    args: ['matrix', 'scalar', 'scalar'],
    returns: 'vector',
    impl: {
      kind: 'range',
      fn: doubleExponentialSmoothing,
      check: (c, [sf, tf]) => {
        if (!(sf > 0 && sf < 1)) throw c.error(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${formatFloat(sf, 'g')}`);
        if (!(tf > 0 && tf < 1)) throw c.error(`invalid trend factor. Expected: 0 < tf < 1, got: ${formatFloat(tf, 'g')}`);
      },
    },
  },
};
