import { labelsKey } from '../model/labels.js';
import { matchesAll } from '../model/matchers.js';
import type { FloatHistogram } from '../model/histogram.js';
import type { Appender, Labels, Matcher, Querier, SeriesData, Storage, StorageStats } from './types.js';

interface MemSeries {
  labels: Labels;
  t: number[];
  v: number[];
  stale: boolean[];
  /** Native histogram samples, where the sample is one; absent for a series without. */
  h?: Array<FloatHistogram | undefined>;
}

/**
 * A plain, uncompressed, non-persistent store. It is the reference the real
 * store is tested against and the fixture for engine tests that need no disk.
 */
export class MemoryStorage implements Storage {
  private readonly series = new Map<string, MemSeries>();

  appender(): Appender {
    const pending: Array<{ labels: Labels; t: number; v: number; stale: boolean; h?: FloatHistogram }> = [];
    return {
      append: (labels, t, v) => pending.push({ labels, t, v, stale: false }),
      appendStale: (labels, t) => pending.push({ labels, t, v: NaN, stale: true }),
      appendHistogram: (labels, t, h) => pending.push({ labels, t, v: NaN, stale: false, h }),
      commit: async () => {
        for (const s of pending.splice(0)) this.add(s.labels, s.t, s.v, s.stale, s.h);
      },
      rollback: () => {
        pending.length = 0;
      },
    };
  }

  /** Synchronous append for tests and loaders; with `h`, a native histogram sample (`v` unused). */
  add(labels: Labels, t: number, v: number, stale = false, h?: FloatHistogram): void {
    const key = labelsKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { ...labels }, t: [], v: [], stale: [] };
      this.series.set(key, s);
    }
    const last = s.t.length ? s.t[s.t.length - 1] : -Infinity;
    if (t < last) throw new Error(`out of order sample for ${key}`);
    if (h !== undefined && s.h === undefined) s.h = s.t.map(() => undefined);
    if (t === last) {
      s.v[s.v.length - 1] = v;
      s.stale[s.stale.length - 1] = stale;
      if (s.h !== undefined) s.h[s.h.length - 1] = h;
      return;
    }
    s.t.push(t);
    s.v.push(v);
    s.stale.push(stale);
    s.h?.push(h);
  }

  clear(): void {
    this.series.clear();
  }

  querier(): Querier {
    const select = (matchers: readonly Matcher[], mint: number, maxt: number): SeriesData[] => {
      const out: SeriesData[] = [];
      for (const s of this.series.values()) {
        if (!matchesAll(s.labels, matchers)) continue;
        let lo = 0;
        while (lo < s.t.length && s.t[lo] < mint) lo++;
        let hi = lo;
        while (hi < s.t.length && s.t[hi] <= maxt) hi++;
        if (hi === lo) continue;
        const stale = s.stale.slice(lo, hi);
        out.push({
          labels: s.labels,
          t: Float64Array.from(s.t.slice(lo, hi)),
          v: Float64Array.from(s.v.slice(lo, hi)),
          stale: stale.some(Boolean) ? Uint8Array.from(stale, (b) => (b ? 1 : 0)) : undefined,
          ...(s.h !== undefined ? { h: s.h.slice(lo, hi) } : {}),
        });
      }
      return out;
    };
    return {
      select,
      series: (matchers, mint, maxt) => select(matchers, mint, maxt).map((s) => s.labels),
      labelNames: (matchers, mint, maxt) => {
        const names = new Set<string>();
        for (const s of select(matchers, mint, maxt)) for (const n of Object.keys(s.labels)) names.add(n);
        return [...names].sort();
      },
      labelValues: (name, matchers, mint, maxt) => {
        const values = new Set<string>();
        for (const s of select(matchers, mint, maxt)) {
          const v = s.labels[name];
          if (v !== undefined && v !== '') values.add(v);
        }
        return [...values].sort();
      },
    };
  }

  stats(): StorageStats {
    let samples = 0;
    let minTime = Infinity;
    let maxTime = -Infinity;
    for (const s of this.series.values()) {
      samples += s.t.length;
      if (s.t.length) {
        minTime = Math.min(minTime, s.t[0]);
        maxTime = Math.max(maxTime, s.t[s.t.length - 1]);
      }
    }
    return { series: this.series.size, samples, bytes: samples * 16, minTime, maxTime };
  }

  async close(): Promise<void> {}
}
