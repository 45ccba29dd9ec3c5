import { labelsKey, type Labels } from '../../model/labels.js';
import { CUSTOM_BUCKETS_SCHEMA, compactBuckets, type FloatHistogram } from '../../model/histogram.js';
import { tryParseGoFloat } from '../../model/strconv.js';
import type { SeriesValues, StepValue } from './script.js';

interface Partial {
  /** le → cumulative count. */
  buckets: Map<number, number>;
  count?: number;
  sum?: number;
}

/**
 * `load_with_nhcb`: besides the classic series, a native histogram with
 * custom buckets (schema -53) per classic histogram and timestamp, built from
 * its `_bucket`, `_count` and `_sum` series. A histogram whose buckets are not
 * cumulative is left out.
 */
export function classicToNhcb(series: SeriesValues[], intervalMs: number): Array<{ labels: Labels; t: number; h: FloatHistogram }> {
  const groups = new Map<string, { labels: Labels; byTime: Map<number, Partial> }>();
  const part = (labels: Labels, base: string, t: number): Partial => {
    const l: Record<string, string> = { ...labels, __name__: base };
    delete l.le;
    const key = labelsKey(l);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels: l, byTime: new Map() }));
    let p = g.byTime.get(t);
    if (!p) g.byTime.set(t, (p = { buckets: new Map() }));
    return p;
  };
  for (const s of series) {
    const name = s.labels.__name__ ?? '';
    const m = /^(.*)_(bucket|count|sum)$/.exec(name);
    if (!m) continue;
    const le = m[2] === 'bucket' ? tryParseGoFloat(s.labels.le ?? '') : undefined;
    if (m[2] === 'bucket' && (le === undefined || Number.isNaN(le))) continue;
    s.values.forEach((v: StepValue, k) => {
      if (typeof v !== 'number') return;
      const p = part(s.labels, m[1], k * intervalMs);
      if (m[2] === 'bucket') p.buckets.set(le!, v);
      else if (m[2] === 'count') p.count = v;
      else p.sum = v;
    });
  }
  const out: Array<{ labels: Labels; t: number; h: FloatHistogram }> = [];
  for (const g of groups.values()) {
    for (const [t, p] of g.byTime) {
      const h = toHistogram(p);
      if (h) out.push({ labels: g.labels, t, h });
    }
  }
  return out.sort((a, b) => a.t - b.t);
}

function toHistogram(p: Partial): FloatHistogram | undefined {
  const les = [...p.buckets.keys()].sort((a, b) => a - b);
  const cumulative = les.map((le) => p.buckets.get(le)!);
  if (cumulative.some((c, i) => c < 0 || (i > 0 && c < cumulative[i - 1]))) return undefined;
  const count = p.count ?? (cumulative.length ? cumulative[cumulative.length - 1] : 0);
  if (les.length === 0 || les[les.length - 1] !== Infinity) {
    les.push(Infinity);
    cumulative.push(count);
  }
  const cnt = cumulative.map((c, i) => (i === 0 ? c : c - cumulative[i - 1]));
  return {
    schema: CUSTOM_BUCKETS_SCHEMA,
    counterResetHint: 'unknown',
    zeroThreshold: 0,
    zeroCount: 0,
    count,
    sum: p.sum ?? 0,
    positive: compactBuckets(
      cnt.map((_, i) => i),
      cnt,
    ),
    negative: { idx: [], cnt: [] },
    customValues: les.slice(0, -1),
  };
}
