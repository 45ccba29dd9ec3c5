import type { Labels } from '../tsdb/types.js';
import { labelsKey } from '../model/labels.js';
import type { FloatHistogram } from '../model/histogram.js';

/**
 * A series identity within one query. Refs are interned by label set and
 * name-dropping flag, so equal refs are the same object: grouping and
 * duplicate checks compare objects instead of hashing labels per step.
 */
export interface SeriesRef {
  readonly labels: Labels;
  readonly key: string;
  /**
   * Prometheus 3 drops `__name__` late: functions and arithmetic only mark the
   * sample, and the name goes when the result leaves the engine. Until then
   * aggregations and label_replace can still see it.
   */
  readonly dropName: boolean;
  /** Cached: the same series marked for name dropping. */
  dropped?: SeriesRef;
  /** Per-step stamp for duplicate detection without a set. */
  stamp: number;
}

export interface Sample {
  readonly ref: SeriesRef;
  /** The float value; ignored (0) when `h` is set. */
  readonly v: number;
  /** A native histogram sample. */
  readonly h?: FloatHistogram;
}

/** A window of one series' samples: indices [lo, hi) of t/v. */
export interface Window {
  readonly ref: SeriesRef;
  readonly t: Float64Array;
  readonly v: Float64Array;
  lo: number;
  hi: number;
}

/**
 * Label sets from the store are the same objects query after query: their
 * keys are computed once, not sorted and concatenated per query.
 */
const keys = new WeakMap<Labels, string>();

function keyOf(labels: Labels): string {
  let k = keys.get(labels);
  if (k === undefined) {
    k = labelsKey(labels);
    // Frozen or not, a store's label sets are never changed after creation; the
    // engine's own derived sets are fresh objects, so caching is safe either way.
    keys.set(labels, k);
  }
  return k;
}

export class RefTable {
  private readonly refs = new Map<string, SeriesRef>();

  get(labels: Labels, dropName = false): SeriesRef {
    const key = keyOf(labels);
    const k = dropName ? '\x01' + key : key;
    let ref = this.refs.get(k);
    if (!ref) {
      ref = { labels, key, dropName, stamp: 0 };
      this.refs.set(k, ref);
    }
    return ref;
  }

  dropped(ref: SeriesRef): SeriesRef {
    if (ref.dropName) return ref;
    if (!ref.dropped) ref.dropped = this.get(ref.labels, true);
    return ref.dropped;
  }
}

/** Labels without `__name__`. */
export function withoutName(labels: Labels): Labels {
  if (!('__name__' in labels)) return labels;
  const out: Record<string, string> = {};
  for (const k in labels) if (k !== '__name__') out[k] = labels[k];
  return out;
}
