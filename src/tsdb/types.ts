/**
 * The storage contract every other folder codes against. The embedded store
 * (src/tsdb) and any remote store implement it; the PromQL engine only reads
 * through `Querier`, collectors and rules only write through `Appender`.
 *
 * Times are Unix milliseconds (integers), values are float64.
 */

import type { Labels } from '../model/labels.js';
import type { Matcher } from '../model/matchers.js';
import type { FloatHistogram } from '../model/histogram.js';

export type { Labels } from '../model/labels.js';
export type { MatchType, Matcher } from '../model/matchers.js';

/**
 * Samples of one series within a queried time range, in time order.
 * `stale[i] === 1` marks a staleness marker at `t[i]` (its value is NaN);
 * it is absent when the range holds no staleness marker.
 */
export interface SeriesData {
  readonly labels: Labels;
  readonly t: Float64Array;
  readonly v: Float64Array;
  readonly stale?: Uint8Array;
  /** Native histogram samples: h[i] set where the sample at t[i] is one (v[i] is then unused). */
  readonly h?: ReadonlyArray<FloatHistogram | undefined>;
}

/** A series as a store knows it: lets a caller that appends to it every scrape skip finding it by its labels. */
export type SeriesHandle = object;

export interface Appender {
  /** Adds one sample. Out-of-order or duplicate samples are rejected with an error. */
  append(labels: Labels, t: number, v: number): void;
  /**
   * `append` to `series` (a handle an earlier call returned for the same
   * `labels` object) while the store still has it, else to the series found
   * by `labels`. Returns the handle for the next sample, if the series has one yet.
   */
  appendTo?(series: SeriesHandle | undefined, labels: Labels, t: number, v: number): SeriesHandle | undefined;
  /** Adds a staleness marker: the series ended at `t` (target gone, series vanished). */
  appendStale(labels: Labels, t: number): void;
  /** Adds one native histogram sample; stores without native histograms leave it out. */
  appendHistogram?(labels: Labels, t: number, h: FloatHistogram): void;
  /** Makes the appended samples durable and visible. */
  commit(): Promise<void>;
  /** Drops the appended samples. */
  rollback(): void;
}

/**
 * What the reader will look at of the selected samples (as Prometheus'
 * storage.SelectHints): only the windows [mint + k·step, mint + k·step +
 * range - 1] (integer ms, k = 0, 1, ... up to maxt), one per evaluation step.
 * A store may leave out samples outside every window and skip chunks that
 * overlap none; it may also ignore the hints and return everything.
 */
export interface SelectHints {
  readonly step: number;
  readonly range: number;
}

export interface Querier {
  /** Series matching all matchers with at least one sample in [mint, maxt] (within the hints' windows when given). */
  select(matchers: readonly Matcher[], mint: number, maxt: number, hints?: SelectHints): SeriesData[];
  /** Label names present on series matching the matchers (all series when empty). */
  labelNames(matchers: readonly Matcher[], mint: number, maxt: number): string[];
  /** Values of one label on series matching the matchers, sorted. */
  labelValues(name: string, matchers: readonly Matcher[], mint: number, maxt: number): string[];
  /** Label sets of the series matching the matchers within [mint, maxt]. */
  series(matchers: readonly Matcher[], mint: number, maxt: number): Labels[];
}

export interface Storage {
  appender(): Appender;
  /**
   * The store's own frozen copy of a stored series' labels, when it keeps one.
   * A caller holding labels for as long as the series lives (a scrape loop)
   * takes this one instead of its own: one label object per series in the process.
   */
  storedLabels?(labels: Labels): Labels | undefined;
  querier(): Querier;
  /** Statistics for self-metrics and the status API. */
  stats(): StorageStats;
  close(): Promise<void>;
}

export interface StorageStats {
  series: number;
  samples: number;
  bytes: number;
  minTime: number;
  maxTime: number;
}
