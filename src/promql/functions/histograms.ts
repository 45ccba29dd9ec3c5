import type { Call } from '../ast.js';
import type { Labels } from '../../tsdb/types.js';
import { bucketFraction, bucketQuantile, type Bucket } from '../mathx.js';
import { formatFloat, goQuote, tryParseGoFloat } from '../../model/strconv.js';
import type { Sample, SeriesRef } from '../value.js';
import type { FloatHistogram } from '../../model/histogram.js';
import { histogramFraction as nativeFraction, histogramQuantile as nativeQuantile, histogramVariance, type StatsNote } from '../histogram-stats.js';
import { quantileWarning } from './range.js';
import type { FnContext, FunctionTable } from './types.js';

const bucketCache = new WeakMap<Labels, { labels: Labels; le: number } | null>();

/** A classic bucket's labels without `le`, and its upper bound; null when `le` is missing or malformed. */
function bucketOf(src: Labels): { labels: Labels; le: number } | null {
  let b = bucketCache.get(src);
  if (b === undefined) {
    const leStr = src.le;
    const le = leStr === undefined ? NaN : (tryParseGoFloat(leStr) ?? NaN);
    if (Number.isNaN(le)) b = null;
    else {
      const labels: Record<string, string> = { ...src };
      delete labels.le;
      b = { labels, le };
    }
    bucketCache.set(src, b);
  }
  return b;
}

/**
 * Splits the input of histogram_quantile and friends: native histogram
 * samples, and classic bucket series grouped by their labels without `le`. A
 * native histogram and a classic group with the same labels conflict: both
 * are dropped with a warning.
 */
function splitHistograms(c: FnContext, e: Call, vec: Sample[]): { native: Sample[]; classic: Map<SeriesRef, Bucket[]> } {
  const native: Sample[] = [];
  if (!vec.some((s) => s.h)) return { native, classic: bucketGroups(c, e, vec) };
  const classic = bucketGroups(c, e, vec.filter((s) => !s.h));
  for (const s of vec) {
    if (!s.h) continue;
    const clash = c.refs.get(s.ref.labels, true);
    if (classic.has(clash)) {
      c.warn(`vector contains a mix of classic and native histograms for metric name ${goQuote(s.ref.labels.__name__ ?? '')}`);
      classic.delete(clash);
      continue;
    }
    native.push(s);
  }
  return { native, classic };
}

function statsNote(c: FnContext, ref: SeriesRef): (n: StatsNote) => void {
  const name = goQuote(ref.labels.__name__ ?? '');
  return (n) => {
    if (n === 'quantile-nan-result') c.info(`input to histogram_quantile has NaN observations, result is NaN for metric name ${name}`);
    else if (n === 'quantile-nan-skew') c.info(`input to histogram_quantile has NaN observations, result is skewed higher for metric name ${name}`);
    else c.info(`input to histogram_fraction has NaN observations, which are excluded from all fractions for metric name ${name}`);
  };
}

/** Groups classic bucket series by their labels without `le`. */
function bucketGroups(c: FnContext, e: Call, vec: Sample[]): Map<SeriesRef, Bucket[]> {
  const groupCache = c.state(e, () => new Map<SeriesRef, { ref: SeriesRef; le: number } | null>());
  const groups = new Map<SeriesRef, Bucket[]>();
  for (const s of vec) {
    let g = groupCache.get(s.ref);
    if (g === undefined) {
      const b = bucketOf(s.ref.labels);
      g = b === null ? null : { ref: c.refs.get(b.labels, true), le: b.le };
      groupCache.set(s.ref, g);
    }
    if (g === null) {
      c.warn(
        `bucket label "le" is missing or has a malformed value of ${goQuote(s.ref.labels.le ?? '')} for metric name ${goQuote(s.ref.labels.__name__ ?? '')}`,
      );
      continue;
    }
    let list = groups.get(g.ref);
    if (!list) groups.set(g.ref, (list = []));
    list.push({ upper: g.le, count: s.v });
  }
  return groups;
}

function classicQuantile(c: FnContext, q: number, ref: SeriesRef, buckets: Bucket[]): number {
  const r = bucketQuantile(q, buckets);
  if (r.forcedMonotonic) {
    c.info(
      `input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name ${goQuote(ref.labels.__name__ ?? '')}`,
    );
  }
  return r.value;
}

function histogramQuantile(c: FnContext, e: Call, t: number): Sample[] {
  const q = c.scalar(e.args[0], t);
  const vec = c.vector(e.args[1], t);
  quantileWarning(c, q);
  const { native, classic } = splitHistograms(c, e, vec);
  const out: Sample[] = [];
  for (const s of native) out.push({ ref: c.refs.dropped(s.ref), v: nativeQuantile(q, s.h!, statsNote(c, s.ref)) });
  for (const [ref, buckets] of classic) out.push({ ref, v: classicQuantile(c, q, ref, buckets) });
  return out;
}

/** OpenMetrics float text for label values: Go's %g, with ".0" on integers. */
export function openMetricsFloat(f: number): string {
  const s = formatFloat(f, 'g');
  return /[.e]|Inf|NaN/.test(s) ? s : s + '.0';
}

/** histogram_quantiles(v, "label", q1, q2, ...): every quantile at once, told apart by a label. */
function histogramQuantiles(c: FnContext, e: Call, t: number): Sample[] {
  const vec = c.vector(e.args[0], t);
  const label = c.string(e.args[1]);
  const qs = e.args.slice(2).map((a) => c.scalar(a, t));
  for (const q of qs) quantileWarning(c, q);
  const cache = c.state(e.args, () => new Map<string, SeriesRef>());
  const { native, classic: groups } = splitHistograms(c, e, vec);
  const out: Sample[] = [];
  for (const q of qs) {
    const qs = openMetricsFloat(q);
    for (const s of native) {
      const r = c.refs.get({ ...s.ref.labels, [label]: qs }, true);
      out.push({ ref: r, v: nativeQuantile(q, s.h!, statsNote(c, s.ref)) });
    }
    for (const [ref, buckets] of groups) {
      const k = ref.key + '\xff' + qs;
      let r = cache.get(k);
      if (!r) cache.set(k, (r = c.refs.get({ ...ref.labels, [label]: qs }, true)));
      // bucketQuantile sorts and coalesces in place: give it its own copy per quantile.
      out.push({ ref: r, v: classicQuantile(c, q, ref, buckets.map((b) => ({ ...b }))) });
    }
  }
  return out;
}

function histogramFraction(c: FnContext, e: Call, t: number): Sample[] {
  const lower = c.scalar(e.args[0], t);
  const upper = c.scalar(e.args[1], t);
  const vec = c.vector(e.args[2], t);
  const { native, classic } = splitHistograms(c, e, vec);
  const out: Sample[] = [];
  for (const s of native) out.push({ ref: c.refs.dropped(s.ref), v: nativeFraction(lower, upper, s.h!, statsNote(c, s.ref)) });
  for (const [ref, buckets] of classic) out.push({ ref, v: bucketFraction(lower, upper, buckets) });
  return out;
}

/** A statistic of each native histogram sample; float samples yield nothing. */
function nativeOnly(stat: (h: FloatHistogram) => number) {
  return (c: FnContext, e: Call, t: number): Sample[] => {
    const out: Sample[] = [];
    for (const s of c.vector(e.args[0], t)) if (s.h) out.push({ ref: c.refs.dropped(s.ref), v: stat(s.h) });
    return out;
  };
}

export const HISTOGRAM_FUNCTIONS: FunctionTable = {
  histogram_quantile: { args: ['scalar', 'vector'], returns: 'vector', impl: { kind: 'vector', fn: histogramQuantile } },
  histogram_quantiles: {
    args: ['vector', 'string', 'scalar', 'scalar'],
    returns: 'vector',
    variadic: 9,
    impl: { kind: 'vector', fn: histogramQuantiles },
  },
  histogram_fraction: { args: ['scalar', 'scalar', 'vector'], returns: 'vector', impl: { kind: 'vector', fn: histogramFraction } },
  histogram_count: { args: ['vector'], returns: 'vector', impl: { kind: 'vector', fn: nativeOnly((h) => h.count) } },
  histogram_sum: { args: ['vector'], returns: 'vector', impl: { kind: 'vector', fn: nativeOnly((h) => h.sum) } },
  histogram_avg: { args: ['vector'], returns: 'vector', impl: { kind: 'vector', fn: nativeOnly((h) => h.sum / h.count) } },
  histogram_stddev: { args: ['vector'], returns: 'vector', impl: { kind: 'vector', fn: nativeOnly((h) => Math.sqrt(histogramVariance(h))) } },
  histogram_stdvar: { args: ['vector'], returns: 'vector', impl: { kind: 'vector', fn: nativeOnly(histogramVariance) } },
};
