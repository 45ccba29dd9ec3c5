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
  /** Approximate heap the decoded samples take; the chunk is cut past OPEN_CHUNK_BYTES. */
  approxBytes = 0;
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

  push(t: number, p: HistogramPoint): void {
    this.t.push(t);
    this.points.push(p);
    this.approxBytes += p === 'stale' ? 16 : 96 + 16 * (p.positive.idx.length + p.negative.idx.length);
  }

  /** Approximate size in memory, for the store's chunk-bytes figure. */
  byteLength(): number {
    return this.approxBytes;
  }

  clear(): void {
    this.t = [];
    this.points = [];
    this.approxBytes = 0;
  }
}

/**
 * Decoded histograms with many buckets take kilobytes each: the open chunk is
 * cut once its samples take about this much, whatever the sample count, so a
 * histogram series holds a bounded amount of decoded data (closed chunks are
 * encoded, a few bytes per bucket and sample).
 */
export const OPEN_CHUNK_BYTES = 32 * 1024;

export function fullHistogramHead(hh: HistogramHead, chunkSize: number): boolean {
  return hh.count >= chunkSize || hh.approxBytes >= OPEN_CHUNK_BYTES;
}
