/**
 * Native histograms as PromQL computes with them (Prometheus's
 * FloatHistogram): sparse exponential buckets (or custom bounds, schema -53)
 * plus a zero bucket, with float counts.
 *
 * Buckets are kept as sorted index → count lists without empty buckets: the
 * span layout Prometheus carries is compacted away before anything compares
 * or prints histograms, so an explicit list of non-empty buckets is the same
 * value with less bookkeeping.
 */

export type CounterResetHint = 'unknown' | 'reset' | 'not_reset' | 'gauge';

/** Schema of native histograms with custom bucket bounds (NHCB). */
export const CUSTOM_BUCKETS_SCHEMA = -53;
export const MIN_SCHEMA = -4;
export const MAX_SCHEMA = 8;

/** Non-empty buckets: idx strictly increasing, cnt[i] the count of bucket idx[i]. */
export interface BucketList {
  readonly idx: readonly number[];
  readonly cnt: readonly number[];
}

export interface FloatHistogram {
  readonly schema: number;
  readonly counterResetHint: CounterResetHint;
  readonly zeroThreshold: number;
  readonly zeroCount: number;
  readonly count: number;
  readonly sum: number;
  readonly positive: BucketList;
  readonly negative: BucketList;
  /** Upper bounds of the custom buckets (schema -53); the last bucket reaches +Inf. */
  readonly customValues?: readonly number[];
}

/** One bucket with its bounds, as iterated for quantiles and fractions. */
export interface Bucket {
  lower: number;
  upper: number;
  count: number;
}

export const EMPTY_BUCKETS: BucketList = { idx: [], cnt: [] };

export class HistogramError extends Error {}

export function usesCustomBuckets(h: FloatHistogram): boolean {
  return h.schema === CUSTOM_BUCKETS_SCHEMA;
}

/** Upper bound of exponential bucket idx: 2^(idx·2^-schema). */
function exponentialBound(idx: number, schema: number): number {
  return schema < 0 ? 2 ** (idx * 2 ** -schema) : 2 ** (idx / 2 ** schema);
}

export function bucketUpper(h: FloatHistogram, idx: number): number {
  if (usesCustomBuckets(h)) {
    const cv = h.customValues ?? [];
    if (idx >= cv.length) return Infinity;
    return idx < 0 ? -Infinity : cv[idx];
  }
  return exponentialBound(idx, h.schema);
}

function bucketLower(h: FloatHistogram, idx: number): number {
  return bucketUpper(h, idx - 1);
}

/**
 * Every bucket from the lowest to the highest value: negative buckets, the
 * zero bucket (when it holds observations), positive buckets. Bounds next to
 * the zero bucket are clipped to its threshold, as Prometheus does.
 */
export function allBuckets(h: FloatHistogram): Bucket[] {
  const out: Bucket[] = [];
  const zt = h.zeroThreshold;
  const neg = h.negative;
  for (let i = neg.idx.length - 1; i >= 0; i--) {
    let upper = -bucketLower(h, neg.idx[i]);
    if (upper < 0 && upper > -zt) upper = -zt;
    out.push({ lower: -bucketUpper(h, neg.idx[i]), upper, count: neg.cnt[i] });
  }
  if (h.zeroCount > 0) out.push({ lower: -zt, upper: zt, count: h.zeroCount });
  const pos = h.positive;
  for (let i = 0; i < pos.idx.length; i++) {
    let lower = bucketLower(h, pos.idx[i]);
    if (lower > 0 && lower < zt) lower = zt;
    out.push({ lower, upper: bucketUpper(h, pos.idx[i]), count: pos.cnt[i] });
  }
  return out;
}

/** Drops empty buckets (Prometheus's Compact(0)). */
export function compactBuckets(idx: readonly number[], cnt: readonly number[]): BucketList {
  const i2: number[] = [];
  const c2: number[] = [];
  for (let i = 0; i < idx.length; i++) {
    if (cnt[i] === 0) continue;
    i2.push(idx[i]);
    c2.push(cnt[i]);
  }
  return { idx: i2, cnt: c2 };
}

/** Merges buckets into a coarser schema: 2^(from-to) neighbours become one. */
function reduceBuckets(b: BucketList, from: number, to: number): BucketList {
  if (from === to) return b;
  const f = 2 ** (from - to);
  const idx: number[] = [];
  const cnt: number[] = [];
  for (let i = 0; i < b.idx.length; i++) {
    const t = Math.floor((b.idx[i] - 1) / f) + 1;
    if (idx.length && idx[idx.length - 1] === t) cnt[cnt.length - 1] += b.cnt[i];
    else {
      idx.push(t);
      cnt.push(b.cnt[i]);
    }
  }
  return { idx, cnt };
}

export function reduceResolution(h: FloatHistogram, schema: number): FloatHistogram {
  if (usesCustomBuckets(h) || schema >= h.schema) return h;
  return { ...h, schema, positive: reduceBuckets(h.positive, h.schema, schema), negative: reduceBuckets(h.negative, h.schema, schema) };
}

/**
 * The zero bucket widened to at least `threshold`: buckets below it move in;
 * a bucket straddling it widens the threshold to its bound (repeatedly).
 */
function widenZeroBucket(h: FloatHistogram, threshold: number): FloatHistogram {
  if (threshold <= h.zeroThreshold) return h;
  for (;;) {
    let zero = h.zeroCount;
    let widened = threshold;
    let posKeep = 0;
    const pos = h.positive;
    for (; posKeep < pos.idx.length; posKeep++) {
      const lower = bucketLower(h, pos.idx[posKeep]);
      if (lower >= threshold) break;
      zero += pos.cnt[posKeep];
      const upper = bucketUpper(h, pos.idx[posKeep]);
      if (upper > threshold) widened = Math.max(widened, upper);
    }
    let negKeep = 0;
    const neg = h.negative;
    for (; negKeep < neg.idx.length; negKeep++) {
      const upperAbs = bucketLower(h, neg.idx[negKeep]);
      if (upperAbs >= threshold) break;
      zero += neg.cnt[negKeep];
      const lowerAbs = bucketUpper(h, neg.idx[negKeep]);
      if (lowerAbs > threshold) widened = Math.max(widened, lowerAbs);
    }
    if (widened !== threshold) {
      threshold = widened;
      continue;
    }
    return {
      ...h,
      zeroThreshold: threshold,
      zeroCount: zero,
      positive: { idx: pos.idx.slice(posKeep), cnt: pos.cnt.slice(posKeep) },
      negative: { idx: neg.idx.slice(negKeep), cnt: neg.cnt.slice(negKeep) },
    };
  }
}

function mergeBuckets(a: BucketList, b: BucketList, sign: 1 | -1): BucketList {
  const idx: number[] = [];
  const cnt: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.idx.length || j < b.idx.length) {
    if (j >= b.idx.length || (i < a.idx.length && a.idx[i] < b.idx[j])) {
      idx.push(a.idx[i]);
      cnt.push(a.cnt[i++]);
    } else if (i >= a.idx.length || b.idx[j] < a.idx[i]) {
      idx.push(b.idx[j]);
      cnt.push(sign * b.cnt[j++]);
    } else {
      idx.push(a.idx[i]);
      cnt.push(a.cnt[i++] + sign * b.cnt[j++]);
    }
  }
  return compactBuckets(idx, cnt);
}

function sameBounds(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function combinedHint(a: CounterResetHint, b: CounterResetHint): CounterResetHint {
  if (a === b) return a;
  if (a === 'gauge' || b === 'gauge') return 'gauge';
  return 'unknown';
}

/** a + b (sign 1) or a - b (sign -1) at the coarser schema and wider zero bucket. */
function combine(a: FloatHistogram, b: FloatHistogram, sign: 1 | -1): FloatHistogram {
  if (usesCustomBuckets(a) !== usesCustomBuckets(b)) {
    throw new HistogramError('cannot apply this operation on histograms with a mix of exponential and custom bucket schemas');
  }
  const hint = combinedHint(a.counterResetHint, b.counterResetHint);
  if (usesCustomBuckets(a)) {
    if (!sameBounds(a.customValues, b.customValues)) {
      throw new HistogramError('cannot apply this operation on custom buckets histograms with different custom bounds');
    }
    return {
      ...a,
      counterResetHint: hint,
      count: a.count + sign * b.count,
      sum: a.sum + sign * b.sum,
      positive: mergeBuckets(a.positive, b.positive, sign),
    };
  }
  const schema = Math.min(a.schema, b.schema);
  let x = reduceResolution(a, schema);
  let y = reduceResolution(b, schema);
  const zt = Math.max(x.zeroThreshold, y.zeroThreshold);
  x = widenZeroBucket(x, zt);
  y = widenZeroBucket(y, x.zeroThreshold);
  x = widenZeroBucket(x, y.zeroThreshold);
  return {
    schema,
    counterResetHint: hint,
    zeroThreshold: x.zeroThreshold,
    zeroCount: x.zeroCount + sign * y.zeroCount,
    count: x.count + sign * y.count,
    sum: x.sum + sign * y.sum,
    positive: mergeBuckets(x.positive, y.positive, sign),
    negative: mergeBuckets(x.negative, y.negative, sign),
  };
}

export function addHistograms(a: FloatHistogram, b: FloatHistogram): FloatHistogram {
  return combine(a, b, 1);
}

export function subHistograms(a: FloatHistogram, b: FloatHistogram): FloatHistogram {
  return combine(a, b, -1);
}

/** Every count and the sum times f. */
export function scaleHistogram(h: FloatHistogram, f: number): FloatHistogram {
  const scale = (b: BucketList): BucketList => ({ idx: b.idx, cnt: b.cnt.map((c) => c * f) });
  return {
    ...h,
    zeroCount: h.zeroCount * f,
    count: h.count * f,
    sum: h.sum * f,
    positive: scale(h.positive),
    negative: scale(h.negative),
  };
}

/** Every count and the sum divided by f. */
export function divideHistogram(h: FloatHistogram, f: number): FloatHistogram {
  const div = (b: BucketList): BucketList => ({ idx: b.idx, cnt: b.cnt.map((c) => c / f) });
  return { ...h, zeroCount: h.zeroCount / f, count: h.count / f, sum: h.sum / f, positive: div(h.positive), negative: div(h.negative) };
}

/** Equality of compacted histograms, as Prometheus's `==` between histograms. */
export function histogramsEqual(a: FloatHistogram, b: FloatHistogram): boolean {
  const eq = (x: number, y: number) => x === y || (Number.isNaN(x) && Number.isNaN(y));
  const sameList = (x: BucketList, y: BucketList) =>
    x.idx.length === y.idx.length && x.idx.every((v, i) => v === y.idx[i] && eq(x.cnt[i], y.cnt[i]));
  return (
    a.schema === b.schema &&
    a.zeroThreshold === b.zeroThreshold &&
    eq(a.zeroCount, b.zeroCount) &&
    eq(a.count, b.count) &&
    eq(a.sum, b.sum) &&
    sameBounds(a.customValues, b.customValues) &&
    sameList(a.positive, b.positive) &&
    sameList(a.negative, b.negative)
  );
}

/**
 * Whether `curr` follows a counter reset after `prev`: a hint says so, or any
 * count went down once both are brought to a common layout.
 */
export function detectReset(curr: FloatHistogram, prev: FloatHistogram): boolean {
  if (curr.counterResetHint === 'reset') return true;
  if (curr.counterResetHint === 'not_reset') return false;
  if (curr.count < prev.count) return true;
  if (usesCustomBuckets(curr) !== usesCustomBuckets(prev)) return true;
  if (usesCustomBuckets(curr) && !sameBounds(curr.customValues, prev.customValues)) return true;
  if (curr.schema > prev.schema) return true;
  if (curr.zeroThreshold < prev.zeroThreshold) return true;
  const p = widenZeroBucket(reduceResolution(prev, curr.schema), curr.zeroThreshold);
  if (p.zeroThreshold !== curr.zeroThreshold) return true;
  if (curr.zeroCount < p.zeroCount) return true;
  const decreased = (c: BucketList, q: BucketList): boolean => {
    let j = 0;
    for (let i = 0; i < q.idx.length; i++) {
      while (j < c.idx.length && c.idx[j] < q.idx[i]) j++;
      const now = j < c.idx.length && c.idx[j] === q.idx[i] ? c.cnt[j] : 0;
      if (now < q.cnt[i]) return true;
    }
    return false;
  };
  return decreased(curr.positive, p.positive) || decreased(curr.negative, p.negative);
}

/** Buckets from Prometheus's span + delta-or-absolute layout (exposition, test scripts, storage). */
export function bucketsFromSpans(spans: ReadonlyArray<{ offset: number; length: number }>, counts: readonly number[]): BucketList {
  const idx: number[] = [];
  const cnt: number[] = [];
  let at = 0;
  let k = 0;
  for (let s = 0; s < spans.length; s++) {
    at += spans[s].offset;
    for (let j = 0; j < spans[s].length; j++, at++, k++) {
      if (k >= counts.length) throw new HistogramError('spans need more buckets than given');
      idx.push(at);
      cnt.push(counts[k]);
    }
  }
  if (k !== counts.length) throw new HistogramError('more buckets given than the spans hold');
  return compactBuckets(idx, cnt);
}
