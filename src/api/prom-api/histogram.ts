import { allBuckets, type FloatHistogram } from '../../model/histogram.js';
import { formatFloat } from '../../model/strconv.js';

/**
 * A native histogram in the HTTP API's JSON: count, sum and the non-empty
 * buckets as [boundary rule, lower, upper, count], where the rule tells which
 * bounds are inclusive: 0 (lower, upper], 1 [lower, upper), 3 [lower, upper]
 * (the zero bucket).
 */
export function histogramJson(h: FloatHistogram): string {
  const buckets: string[] = [];
  for (const b of allBuckets(h)) {
    if (b.count === 0) continue;
    const rule = b.lower === -h.zeroThreshold && b.upper === h.zeroThreshold && b.lower < 0 ? 3 : b.upper <= 0 ? 1 : 0;
    buckets.push(`[${rule},"${formatFloat(b.lower)}","${formatFloat(b.upper)}","${formatFloat(b.count)}"]`);
  }
  const list = buckets.length ? `,"buckets":[${buckets.join(',')}]` : '';
  return `{"count":"${formatFloat(h.count)}","sum":"${formatFloat(h.sum)}"${list}}`;
}
