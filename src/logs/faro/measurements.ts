import type { Labels, Storage } from '../../tsdb/types.js';

export const MEASUREMENT_METRIC = 'vigil_faro_measurement';

/** Buckets in the measurement's own unit: milliseconds for timings, unitless for CLS. */
const MS_BUCKETS = [50, 100, 250, 500, 1000, 2500, 4000, 10000, 30000];
const SCORE_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export function bucketsFor(name: string): number[] {
  return name === 'cls' ? SCORE_BUCKETS : MS_BUCKETS;
}

interface Hist {
  labels: Record<string, string>;
  buckets: number[];
  counts: number[];
  sum: number;
  count: number;
  lastT: number;
}

const clip = (v: string) => v.slice(0, 128);

/**
 * Faro measurements (web vitals and custom ones) as cumulative Prometheus
 * histograms in storage: `vigil_faro_measurement_bucket{app,environment,type,name,le}`,
 * `_sum` and `_count`, so dashboards and rules use histogram_quantile as usual.
 * Series count is capped: measurement names come from browsers.
 */
export class MeasurementHistograms {
  private readonly hists = new Map<string, Hist>();

  constructor(
    private readonly storage: Pick<Storage, 'appender'>,
    private readonly maxSeries = 500,
  ) {}

  /** Observes values; returns how many were refused by the cardinality cap. */
  async observe(items: Array<{ app: string; environment: string; type: string; name: string; value: number }>): Promise<number> {
    let refused = 0;
    const touched = new Set<Hist>();
    for (const it of items) {
      const labels = { app: clip(it.app), environment: clip(it.environment), type: clip(it.type), name: clip(it.name) };
      const key = `${labels.app}\0${labels.environment}\0${labels.type}\0${labels.name}`;
      let h = this.hists.get(key);
      if (!h) {
        if (this.hists.size >= this.maxSeries) {
          refused++;
          continue;
        }
        const buckets = bucketsFor(it.name);
        h = { labels, buckets, counts: new Array<number>(buckets.length).fill(0), sum: 0, count: 0, lastT: 0 };
        this.hists.set(key, h);
      }
      for (let i = 0; i < h.buckets.length; i++) if (it.value <= h.buckets[i]) h.counts[i]++;
      h.sum += it.value;
      h.count++;
      touched.add(h);
    }
    if (touched.size === 0) return refused;
    const app = this.storage.appender();
    try {
      for (const h of touched) {
        // Storage rejects duplicate timestamps: keep each series strictly increasing.
        const t = Math.max(Date.now(), h.lastT + 1);
        h.lastT = t;
        const with_ = (name: string, extra: Record<string, string> = {}): Labels => ({ __name__: name, ...h.labels, ...extra });
        for (let i = 0; i < h.buckets.length; i++) app.append(with_(`${MEASUREMENT_METRIC}_bucket`, { le: String(h.buckets[i]) }), t, h.counts[i]);
        app.append(with_(`${MEASUREMENT_METRIC}_bucket`, { le: '+Inf' }), t, h.count);
        app.append(with_(`${MEASUREMENT_METRIC}_sum`), t, h.sum);
        app.append(with_(`${MEASUREMENT_METRIC}_count`), t, h.count);
      }
      await app.commit();
    } catch (err) {
      app.rollback();
      throw err;
    }
    return refused;
  }
}
