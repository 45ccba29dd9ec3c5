import type { FloatHistogram } from '../model/histogram.js';
import { encodeHistogramChunk, type HistogramPoint } from './histogram-chunk.js';

/**
 * A series' native histogram part in the head: the open histogram chunk (its
 * samples kept decoded until the chunk is cut, as histograms are appended far
 * more often than read) and the series' latest histogram. Float-only series
 * never get one, so they pay a single empty field for it.
 */
export class HistogramHead {
  t: number[] = [];
  points: HistogramPoint[] = [];
  /** The series' latest sample was this histogram (or a marker after one); undefined once a float followed. */
  last: FloatHistogram | undefined = undefined;

  get count(): number {
    return this.t.length;
  }

  get minT(): number {
    return this.t[0];
  }

  get maxT(): number {
    return this.t[this.t.length - 1];
  }

  bytes(): Uint8Array {
    return encodeHistogramChunk(this.t, this.points);
  }

  /** Approximate size in memory, for the store's chunk-bytes figure. */
  byteLength(): number {
    let n = 0;
    for (const p of this.points) n += p === 'stale' ? 16 : 64 + 16 * (p.positive.idx.length + p.negative.idx.length);
    return n;
  }

  clear(): void {
    this.t = [];
    this.points = [];
  }
}
