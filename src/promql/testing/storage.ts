import { labelsKey, type Labels } from '../../model/labels.js';
import { matchesAll, type Matcher } from '../../model/matchers.js';
import type { FloatHistogram } from '../../model/histogram.js';
import type { Querier, SeriesData } from '../../tsdb/types.js';

interface ScriptSeries {
  labels: Labels;
  t: number[];
  v: number[];
  h: Array<FloatHistogram | undefined>;
  stale: boolean[];
}

/**
 * The samples a test script loads, floats and native histograms alike, kept
 * in memory and read through the engine's Querier contract.
 */
export class ScriptStorage {
  private readonly series = new Map<string, ScriptSeries>();

  /** Adds a sample; loads are additive and a later sample at the same time replaces the earlier one. */
  add(labels: Labels, t: number, value: number | FloatHistogram | 'stale'): void {
    const key = labelsKey(labels);
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels: { ...labels }, t: [], v: [], h: [], stale: [] }));
    let i = s.t.length;
    while (i > 0 && s.t[i - 1] > t) i--;
    const replace = i > 0 && s.t[i - 1] === t;
    const at = replace ? i - 1 : i;
    const v = typeof value === 'number' ? value : value === 'stale' ? NaN : 0;
    const h = typeof value === 'object' ? value : undefined;
    if (replace) {
      s.v[at] = v;
      s.h[at] = h;
      s.stale[at] = value === 'stale';
      return;
    }
    s.t.splice(at, 0, t);
    s.v.splice(at, 0, v);
    s.h.splice(at, 0, h);
    s.stale.splice(at, 0, value === 'stale');
  }

  clear(): void {
    this.series.clear();
  }

  querier(): Querier {
    const all = () => [...this.series.values()];
    const matching = (ms: readonly Matcher[]) => all().filter((s) => matchesAll(s.labels, ms));
    return {
      select: (matchers, mint, maxt) => {
        const out: SeriesData[] = [];
        for (const s of matching(matchers)) {
          const idx: number[] = [];
          for (let i = 0; i < s.t.length; i++) if (s.t[i] >= mint && s.t[i] <= maxt) idx.push(i);
          if (idx.length === 0) continue;
          const hasH = idx.some((i) => s.h[i] !== undefined);
          const hasStale = idx.some((i) => s.stale[i]);
          out.push({
            labels: s.labels,
            t: Float64Array.from(idx, (i) => s.t[i]),
            v: Float64Array.from(idx, (i) => s.v[i]),
            ...(hasStale ? { stale: Uint8Array.from(idx, (i) => (s.stale[i] ? 1 : 0)) } : {}),
            ...(hasH ? { h: idx.map((i) => s.h[i]) } : {}),
          });
        }
        return out;
      },
      labelNames: (matchers) => [...new Set(matching(matchers).flatMap((s) => Object.keys(s.labels)))].sort(),
      labelValues: (name, matchers) =>
        [...new Set(matching(matchers).map((s) => s.labels[name]).filter((v): v is string => v !== undefined))].sort(),
      series: (matchers) => matching(matchers).map((s) => s.labels),
    };
  }
}
