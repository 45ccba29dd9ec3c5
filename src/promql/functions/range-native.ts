import {
  HistogramError,
  addHistograms,
  detectReset,
  divideHistogram,
  reduceResolution,
  scaleHistogram,
  subHistograms,
  usesCustomBuckets,
  type FloatHistogram,
} from '../../model/histogram.js';
import { goQuote } from '../../model/strconv.js';
import { extrapolationFactor } from './range.js';
import type { FnContext, NativeRangeResult, RangeCtx } from './types.js';

/**
 * Range functions over windows that hold native histograms, as Prometheus
 * computes them. Each returns undefined for "no output" after adding the
 * annotation Prometheus gives.
 */

function histogramsOf(c: RangeCtx): { hs: FloatHistogram[]; floats: number } {
  const hs: FloatHistogram[] = [];
  let floats = 0;
  for (let i = c.lo; i < c.hi; i++) {
    const h = c.h?.[i];
    if (h) hs.push(h);
    else floats++;
  }
  return { hs, floats };
}

function mixed(fc: FnContext, name: string): undefined {
  fc.warn(`encountered a mix of histograms and floats for metric name ${goQuote(name)}`);
  return undefined;
}

function notCounter(fc: FnContext, name: string): void {
  fc.warn(`this native histogram metric is not a counter: ${goQuote(name)}`);
}

function notGauge(fc: FnContext, name: string): void {
  fc.warn(`this native histogram metric is not a gauge: ${goQuote(name)}`);
}

function histogramError(fc: FnContext, name: string, err: unknown): undefined {
  if (!(err instanceof HistogramError)) throw err;
  if (/mix of exponential and custom/.test(err.message)) {
    fc.warn(`vector contains a mix of histograms with exponential and custom buckets schemas for metric name ${goQuote(name)}`);
  } else fc.warn(`vector contains histograms with incompatible custom buckets for metric name ${goQuote(name)}`);
  return undefined;
}

/** The increase of a histogram counter (or the change of a gauge) over the window's samples. */
function histogramChange(points: FloatHistogram[], isCounter: boolean, fc: FnContext, name: string): FloatHistogram | undefined {
  let prev = points[0];
  const last = points[points.length - 1];
  if (isCounter && (prev.counterResetHint === 'gauge' || last.counterResetHint === 'gauge')) notCounter(fc, name);
  if (isCounter && points.length > 1 && detectReset(points[1], prev)) {
    // Reset right after the first sample: count from an empty histogram.
    prev = { ...points[1], zeroCount: 0, count: 0, sum: 0, positive: { idx: [], cnt: [] }, negative: { idx: [], cnt: [] }, zeroThreshold: 0 };
  }
  let minSchema = Math.min(prev.schema, last.schema);
  for (const p of points.slice(1, -1)) {
    if (!isCounter) continue;
    if (p.counterResetHint === 'gauge') notCounter(fc, name);
    minSchema = Math.min(minSchema, p.schema);
    if (usesCustomBuckets(p) !== usesCustomBuckets(prev)) return histogramError(fc, name, new HistogramError('mix of exponential and custom'));
  }
  try {
    let h = subHistograms(reduceResolution(last, minSchema), prev);
    if (isCounter) {
      for (const curr of points.slice(1)) {
        if (detectReset(curr, prev)) h = addHistograms(h, prev);
        prev = curr;
      }
    } else if (points[0].counterResetHint !== 'gauge' || last.counterResetHint !== 'gauge') notGauge(fc, name);
    return { ...h, counterResetHint: 'gauge' };
  } catch (err) {
    return histogramError(fc, name, err);
  }
}

export function nativeExtrapolatedRate(isCounter: boolean, isRate: boolean) {
  return (c: RangeCtx, fc: FnContext, name: string): NativeRangeResult => {
    const { hs, floats } = histogramsOf(c);
    if (floats > 0) return mixed(fc, name);
    if (hs.length < 2) return undefined;
    const h = histogramChange(hs, isCounter, fc, name);
    if (!h) return undefined;
    return { v: 0, h: scaleHistogram(h, extrapolationFactor(c, hs.length, isRate, undefined)) };
  };
}

export function nativeInstantValue(isRate: boolean) {
  return (c: RangeCtx, fc: FnContext, name: string): NativeRangeResult => {
    if (c.hi - c.lo < 2) return undefined;
    const a = c.h?.[c.hi - 2];
    const b = c.h?.[c.hi - 1];
    const interval = c.t[c.hi - 1] - c.t[c.hi - 2];
    if (interval === 0) return undefined;
    if (!a || !b) return mixed(fc, name);
    if (isRate && (a.counterResetHint === 'gauge' || b.counterResetHint === 'gauge')) notCounter(fc, name);
    if (!isRate && (a.counterResetHint !== 'gauge' || b.counterResetHint !== 'gauge')) notGauge(fc, name);
    let h = b;
    try {
      if (!isRate || !detectReset(b, a)) h = subHistograms(b, a);
    } catch (err) {
      return histogramError(fc, name, err);
    }
    h = { ...h, counterResetHint: 'gauge' };
    return { v: 0, h: isRate ? divideHistogram(h, interval / 1000) : h };
  };
}

/** sum_over_time and avg_over_time: histograms add up; a mix with floats gives nothing. */
export function nativeSumOrAvg(avg: boolean) {
  return (c: RangeCtx, fc: FnContext, name: string): NativeRangeResult => {
    const { hs, floats } = histogramsOf(c);
    if (floats > 0) return mixed(fc, name);
    try {
      let sum = hs[0];
      for (let i = 1; i < hs.length; i++) sum = addHistograms(sum, hs[i]);
      return { v: 0, h: avg ? divideHistogram(sum, hs.length) : sum };
    } catch (err) {
      return histogramError(fc, name, err);
    }
  };
}

/** The sample at position i of the window, float or histogram. */
export function sampleAt(c: RangeCtx, i: number): NativeRangeResult {
  const h = c.h?.[i];
  return h ? { v: 0, h } : { v: c.v[i] };
}

/** changes() and resets() over a window with histograms: a switch of sample type counts too. */
export function nativeChanges(resets: boolean) {
  return (c: RangeCtx): NativeRangeResult => {
    let n = 0;
    for (let i = c.lo + 1; i < c.hi; i++) {
      const a = c.h?.[i - 1];
      const b = c.h?.[i];
      if (a && b) {
        if (resets ? detectReset(b, a) : !histogramsSame(a, b)) n++;
      } else if (!a && !b) {
        const x = c.v[i - 1];
        const y = c.v[i];
        if (resets ? y < x : x !== y && !(Number.isNaN(x) && Number.isNaN(y))) n++;
      } else n++;
    }
    return { v: n };
  };
}

function histogramsSame(a: FloatHistogram, b: FloatHistogram): boolean {
  return (
    a.count === b.count &&
    a.sum === b.sum &&
    a.zeroCount === b.zeroCount &&
    a.schema === b.schema &&
    a.positive.idx.length === b.positive.idx.length &&
    a.positive.cnt.every((x, i) => x === b.positive.cnt[i] && a.positive.idx[i] === b.positive.idx[i]) &&
    a.negative.cnt.every((x, i) => x === b.negative.cnt[i] && a.negative.idx[i] === b.negative.idx[i])
  );
}
