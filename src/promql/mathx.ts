/** Numeric helpers matching Prometheus's float behaviour. */

export interface Kahan {
  sum: number;
  c: number;
}

/** One step of Kahan-Neumaier summation; mutates and returns k. */
export function kahanAdd(k: Kahan, inc: number): Kahan {
  const t = k.sum + inc;
  if (!Number.isFinite(t) && !Number.isNaN(t)) k.c = 0;
  else if (Math.abs(k.sum) >= Math.abs(inc)) k.c += k.sum - t + inc;
  else k.c += inc - t + k.sum;
  k.sum = t;
  return k;
}

/** Go's math.Pow differs from JS `**` for a few special cases. */
export function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}

/** Ascending, NaN first, as Prometheus's vectorByValueHeap sorts for quantiles. */
export function sortForQuantile(values: number[]): number[] {
  return values.sort((a, b) => {
    if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
    if (Number.isNaN(b)) return 1;
    return a - b;
  });
}

export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  sortForQuantile(values);
  const n = values.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return values[lower] * (1 - weight) + values[upper] * weight;
}

/** Mean with Kahan summation, switching to an incremental mean when the sum would overflow. */
export class MeanAcc {
  count = 0;
  private sum: Kahan = { sum: 0, c: 0 };
  private incremental = false;
  private mean = 0;

  add(f: number): void {
    this.count++;
    if (this.count === 1) {
      this.sum.sum = f;
      return;
    }
    if (!this.incremental) {
      const t = { sum: this.sum.sum, c: this.sum.c };
      kahanAdd(t, f);
      if (Number.isFinite(t.sum) || Number.isNaN(t.sum)) {
        this.sum = t;
        return;
      }
      this.incremental = true;
      this.mean = this.sum.sum / (this.count - 1);
      this.sum.c /= this.count - 1;
    }
    if (!Number.isFinite(this.mean) && !Number.isNaN(this.mean)) {
      if (!Number.isFinite(f) && !Number.isNaN(f) && this.mean > 0 === f > 0) return;
      if (Number.isFinite(f)) return;
    }
    const current = this.mean + this.sum.c;
    const k = { sum: this.mean, c: this.sum.c };
    kahanAdd(k, f / this.count - current / this.count);
    this.mean = k.sum;
    this.sum.c = k.c;
  }

  value(): number {
    if (this.incremental) return this.mean + this.sum.c;
    return (this.sum.sum + this.sum.c) / this.count;
  }
}

export function linearRegression(
  t: Float64Array,
  v: Float64Array,
  lo: number,
  hi: number,
  interceptTime: number,
): [slope: number, intercept: number] {
  let n = 0;
  const sx: Kahan = { sum: 0, c: 0 };
  const sy: Kahan = { sum: 0, c: 0 };
  const sxy: Kahan = { sum: 0, c: 0 };
  const sx2: Kahan = { sum: 0, c: 0 };
  const initY = v[lo];
  let constY = true;
  for (let i = lo; i < hi; i++) {
    const y = v[i];
    if (constY && i > lo && y !== initY) constY = false;
    n++;
    const x = (t[i] - interceptTime) / 1000;
    kahanAdd(sx, x);
    kahanAdd(sy, y);
    kahanAdd(sxy, x * y);
    kahanAdd(sx2, x * x);
  }
  if (constY) {
    if (!Number.isFinite(initY) && !Number.isNaN(initY)) return [NaN, NaN];
    return [0, initY];
  }
  const sumX = sx.sum + sx.c;
  const sumY = sy.sum + sy.c;
  const sumXY = sxy.sum + sxy.c;
  const sumX2 = sx2.sum + sx2.c;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return [slope, sumY / n - (slope * sumX) / n];
}

const MIN_NORMAL = 2.2250738585072014e-308;

export function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

export interface Bucket {
  upper: number;
  count: number;
}

/** Quantile from classic histogram buckets, as Prometheus's BucketQuantile. */
export function bucketQuantile(q: number, buckets: Bucket[]): { value: number; forcedMonotonic: boolean } {
  if (Number.isNaN(q)) return { value: NaN, forcedMonotonic: false };
  if (q < 0) return { value: -Infinity, forcedMonotonic: false };
  if (q > 1) return { value: Infinity, forcedMonotonic: false };
  buckets.sort((a, b) => a.upper - b.upper);
  if (buckets.length === 0 || buckets[buckets.length - 1].upper !== Infinity) return { value: NaN, forcedMonotonic: false };
  // Coalesce buckets with the same upper bound.
  const bs: Bucket[] = [];
  for (const b of buckets) {
    const last = bs[bs.length - 1];
    if (last && last.upper === b.upper) last.count += b.count;
    else bs.push({ upper: b.upper, count: b.count });
  }
  let forcedMonotonic = false;
  let prev = bs[0].count;
  for (let i = 1; i < bs.length; i++) {
    const curr = bs[i].count;
    if (curr === prev) continue;
    if (almostEqual(prev, curr, 1e-12)) {
      bs[i].count = prev;
      continue;
    }
    if (curr < prev) {
      bs[i].count = prev;
      forcedMonotonic = true;
      continue;
    }
    prev = curr;
  }
  if (bs.length < 2) return { value: NaN, forcedMonotonic };
  const observations = bs[bs.length - 1].count;
  if (observations === 0) return { value: NaN, forcedMonotonic };
  let rank = q * observations;
  let b = 0;
  while (b < bs.length - 1 && !(bs[b].count >= rank)) b++;
  if (b === bs.length - 1) return { value: bs[bs.length - 2].upper, forcedMonotonic };
  if (b === 0 && bs[0].upper <= 0) return { value: bs[0].upper, forcedMonotonic };
  let start = 0;
  const end = bs[b].upper;
  let count = bs[b].count;
  if (b > 0) {
    start = bs[b - 1].upper;
    count -= bs[b - 1].count;
    rank -= bs[b - 1].count;
  }
  return { value: start + (end - start) * (rank / count), forcedMonotonic };
}

/** Fraction of observations between lower and upper, from classic buckets (Prometheus's BucketFraction). */
export function bucketFraction(lower: number, upper: number, buckets: Bucket[]): number {
  buckets.sort((a, b) => a.upper - b.upper);
  if (buckets.length === 0 || buckets[buckets.length - 1].upper !== Infinity) return NaN;
  const bs: Bucket[] = [];
  for (const b of buckets) {
    const last = bs[bs.length - 1];
    if (last && last.upper === b.upper) last.count += b.count;
    else bs.push({ upper: b.upper, count: b.count });
  }
  const count = bs[bs.length - 1].count;
  if (count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  for (let i = 0; i < bs.length; i++) {
    const b = bs[i];
    const lb = i > 0 ? bs[i - 1].upper : b.upper > 0 ? 0 : -Infinity;
    const ub = b.upper;
    // No interpolation inside a bucket of infinite width: a -Inf lower bound counts the whole
    // bucket (as the +Inf bucket counts none of it), as Prometheus does.
    const interp = (v: number): number => (lb === -Infinity ? b.count : rank + ((b.count - rank) * (v - lb)) / (ub - lb));
    if (!lowerSet && lb >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && lb >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && lb < lower && ub > lower) {
      lowerRank = interp(lower);
      lowerSet = true;
    }
    if (!upperSet && lb < upper && ub > upper) {
      upperRank = interp(upper);
      upperSet = true;
    }
    rank = b.count;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / count;
}
