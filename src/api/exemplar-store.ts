/**
 * Exemplars from OpenMetrics scrapes in a fixed-size ring (oldest dropped
 * first, like Prometheus's circular exemplar storage), for
 * /api/v1/query_exemplars.
 */
import { labelsKey } from '../model/labels.js';
import { matchesAll } from '../model/matchers.js';
import type { Labels, Matcher } from '../tsdb/types.js';

export interface Exemplar {
  series: Labels;
  labels: Labels;
  value: number;
  /** ms */
  t: number;
}

export class ExemplarStore {
  /** Grows to `capacity` as exemplars come: a Vigil that scrapes none does not hold 800 KB of empty slots. */
  private readonly ring: Exemplar[] = [];
  /** The oldest exemplar's slot once the ring is full (0 while it fills). */
  private next = 0;

  constructor(readonly capacity = 100_000) {}

  add(e: Exemplar): void {
    if (this.capacity === 0) return;
    if (this.ring.length < this.capacity) {
      this.ring.push(e);
      return;
    }
    this.ring[this.next] = e;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Exemplars whose series match any of the selector sets, in [start, end], grouped by series, oldest first. */
  query(selectors: Matcher[][], start: number, end: number): Array<{ seriesLabels: Labels; exemplars: Exemplar[] }> {
    const groups = new Map<string, { seriesLabels: Labels; exemplars: Exemplar[] }>();
    const n = this.ring.length;
    for (let i = 0; i < n; i++) {
      const e = this.ring[(this.next + i) % n];
      if (e.t < start || e.t > end) continue;
      if (!selectors.some((ms) => matchesAll(e.series, ms))) continue;
      const key = labelsKey(e.series);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { seriesLabels: e.series, exemplars: [] }));
      g.exemplars.push(e);
    }
    return [...groups.values()];
  }
}
