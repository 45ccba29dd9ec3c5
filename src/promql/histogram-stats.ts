import { formatFloat } from '../model/strconv.js';
import { allBuckets, bucketUpper, usesCustomBuckets, type FloatHistogram } from '../model/histogram.js';
import { kahanAdd, type Kahan } from './mathx.js';

/**
 * Statistics over one native histogram, as Prometheus's PromQL computes them.
 * `note` receives the info annotations a result may carry.
 */

export type StatsNote = 'quantile-nan-result' | 'quantile-nan-skew' | 'fraction-nans';

/** The q-quantile: interpolated on a log scale in exponential buckets, linearly elsewhere. */
export function histogramQuantile(q: number, h: FloatHistogram, note: (n: StatsNote) => void): number {
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (h.count === 0 || Number.isNaN(q)) return NaN;
  const buckets = allBuckets(h);
  // NaN observations count in h.count but in no bucket: walk upwards then.
  const forward = Number.isNaN(h.sum) || q < 0.5;
  let rank = forward ? q * h.count : (1 - q) * h.count;
  let count = 0;
  let k = forward ? 0 : buckets.length - 1;
  let b = { lower: 0, upper: 0, count: 0 };
  for (; forward ? k < buckets.length : k >= 0; k += forward ? 1 : -1) {
    if (buckets[k].count === 0) continue;
    b = { ...buckets[k] };
    count += b.count;
    if (count >= rank) break;
  }
  const custom = usesCustomBuckets(h);
  if (!custom && b.lower < 0 && b.upper > 0) {
    if (h.negative.idx.length === 0 && h.positive.idx.length > 0) b.lower = 0;
    else if (h.positive.idx.length === 0 && h.negative.idx.length > 0) b.upper = 0;
  } else if (custom) {
    if (b.lower === -Infinity) {
      if (b.upper <= 0) return b.upper;
      b.lower = 0;
    } else if (b.upper === Infinity) return b.lower;
  }
  if (count > h.count) count = h.count;
  if (count < rank) {
    if (Number.isNaN(h.sum)) {
      note('quantile-nan-result');
      return NaN;
    }
    return b.upper;
  }
  rank = forward ? rank - (count - b.count) : count - rank;
  if (Number.isNaN(h.sum)) {
    for (k++; k < buckets.length; k++) count += buckets[k].count;
    if (count < h.count) note('quantile-nan-skew');
  }
  const fraction = rank / b.count;
  if (custom || (b.lower <= 0 && b.upper >= 0)) return b.lower + (b.upper - b.lower) * fraction;
  const logLower = Math.log2(Math.abs(b.lower));
  const logUpper = Math.log2(Math.abs(b.upper));
  if (b.lower > 0) return 2 ** (logLower + (logUpper - logLower) * fraction);
  return -(2 ** (logUpper + (logLower - logUpper) * (1 - fraction)));
}

/** Estimated share of observations between lower and upper. */
export function histogramFraction(lower: number, upper: number, h: FloatHistogram, note: (n: StatsNote) => void): number {
  if (h.count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  const custom = usesCustomBuckets(h);
  let count = 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  const buckets = allBuckets(h);
  let k = 0;
  for (; k < buckets.length; k++) {
    const b = { ...buckets[k] };
    count += b.count;
    let zeroBucket = false;
    if (b.lower <= 0 && b.upper >= 0) {
      zeroBucket = true;
      if (h.negative.idx.length === 0 && h.positive.idx.length > 0) b.lower = 0;
      else if (h.positive.idx.length === 0 && h.negative.idx.length > 0) b.upper = 0;
    }
    const linear = (v: number) => rank + (b.count * (v - b.lower)) / (b.upper - b.lower);
    const exponential = (v: number) => {
      const logLower = Math.log2(Math.abs(b.lower));
      const logUpper = Math.log2(Math.abs(b.upper));
      const logV = Math.log2(Math.abs(v));
      const f = v > 0 ? (logV - logLower) / (logUpper - logLower) : 1 - (logV - logUpper) / (logLower - logUpper);
      return rank + b.count * f;
    };
    const interpolate = custom || zeroBucket ? linear : exponential;
    if (!lowerSet && b.lower >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && b.lower >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && b.lower < lower && b.upper > lower) {
      lowerRank = interpolate(lower);
      lowerSet = true;
    }
    if (!upperSet && b.lower < upper && b.upper > upper) {
      upperRank = interpolate(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank += b.count;
  }
  if (Number.isNaN(h.sum)) {
    for (k++; k < buckets.length; k++) count += buckets[k].count;
    if (count < h.count) note('fraction-nans');
  } else count = h.count;
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / h.count;
}

/** Variance of the observations, each bucket standing at its (geometric) middle. */
export function histogramVariance(h: FloatHistogram): number {
  const mean = h.sum / h.count;
  const acc: Kahan = { sum: 0, c: 0 };
  const custom = usesCustomBuckets(h);
  for (const b of allBuckets(h)) {
    if (b.count === 0) continue;
    let val: number;
    if (custom) val = (b.upper + b.lower) / 2;
    else if (b.lower <= 0 && b.upper >= 0) val = 0;
    else {
      val = Math.sqrt(b.upper * b.lower);
      if (b.upper < 0) val = -val;
    }
    const delta = val - mean;
    kahanAdd(acc, b.count * delta * delta);
  }
  return (acc.sum + acc.c) / h.count;
}

/** Prometheus's FloatHistogram.String(), e.g. for count_values labels. */
export function histogramString(h: FloatHistogram): string {
  const g = (f: number) => formatFloat(f, 'g');
  const parts = [`{count:${g(h.count)}, sum:${g(h.sum)}`];
  const neg = h.negative;
  for (let i = neg.idx.length - 1; i >= 0; i--) {
    parts.push(`[${g(-bucketUpper(h, neg.idx[i]))},${g(-bucketUpper(h, neg.idx[i] - 1))}):${g(neg.cnt[i])}`);
  }
  if (h.zeroCount !== 0) parts.push(`[${g(-h.zeroThreshold)},${g(h.zeroThreshold)}]:${g(h.zeroCount)}`);
  const pos = h.positive;
  for (let i = 0; i < pos.idx.length; i++) {
    parts.push(`(${g(bucketUpper(h, pos.idx[i] - 1))},${g(bucketUpper(h, pos.idx[i]))}]:${g(pos.cnt[i])}`);
  }
  return parts.join(', ') + '}';
}
