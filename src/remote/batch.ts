/**
 * A shard's samples for one round, kept in columns (series, time, value,
 * staleness) rather than one object per sample, and their encoding into a
 * WriteRequest: the samples of a batch grouped per series, in order, each
 * series' labels copied from its encoding made once.
 */
import type { FloatHistogram } from '../model/histogram.js';
import { encodeHistogram, histogramFieldSize, ProtoWriter, sampleSize } from './proto.js';
import { grown } from '../util/typed-array.js';
import type { SampleView } from './wal-reader.js';

/** A series as the queue sends it, derived once from its WAL labels. */
export interface SendSeries {
  /** Its `labels` fields, after external labels and write relabeling (bytes as a one-byte string: see encodeLabels). */
  readonly labels: string;
  /** Picks the shard; stable for the series. */
  readonly hash: number;
  // Scratch for grouping one batch (see encodeBatch).
  mark: number;
  first: number;
  last: number;
  samplesLen: number;
}

export class ShardBuffer {
  series: SendSeries[] = [];
  ts: Float64Array;
  vs: Float64Array;
  stale: Uint8Array;
  length = 0;
  /**
   * Native histogram samples, apart from the float columns so that floats
   * pay nothing for them; they come after the floats in the batch order
   * (indexes `length`..`total`). `null` is a histogram staleness marker.
   */
  hSeries: SendSeries[] = [];
  hTs: number[] = [];
  hists: Array<FloatHistogram | null> = [];

  constructor(initial = 1024) {
    this.ts = new Float64Array(initial);
    this.vs = new Float64Array(initial);
    this.stale = new Uint8Array(initial);
  }

  /** Copies the sample `at` points to (see SampleView for why an object). */
  push(s: SendSeries, at: SampleView): void {
    const i = this.length;
    if (i === this.ts.length) this.grow();
    this.series[i] = s;
    this.ts[i] = at.t;
    this.vs[i] = at.v;
    this.stale[i] = at.stale ? 1 : 0;
    this.length = i + 1;
  }

  pushHistogram(s: SendSeries, t: number, h: FloatHistogram | null): void {
    this.hSeries.push(s);
    this.hTs.push(t);
    this.hists.push(h);
  }

  /** Float samples and histograms. */
  get total(): number {
    return this.length + this.hists.length;
  }

  /** Time of sample `i` of the batch order (floats, then histograms). */
  timeAt(i: number): number {
    return i < this.length ? this.ts[i] : this.hTs[i - this.length];
  }

  /**
   * Empties the buffer, keeping its room for the next round. `series` keeps
   * its entries (overwritten next round): truncating it would free its room.
   */
  clear(): void {
    this.length = 0;
    this.hSeries.length = 0;
    this.hTs.length = 0;
    this.hists.length = 0;
  }

  private grow(): void {
    const n = this.ts.length * 2;
    this.ts = grown(this.ts, n);
    this.vs = grown(this.vs, n);
    this.stale = grown(this.stale, n);
  }
}

let stamp = 0;
/** Per sample of the batch being encoded: the index of the next sample of the same series, or -1. */
let nextOf = new Int32Array(4096);
/** The batch's series in order of first sample (reused: one batch is encoded at a time). */
const order: SendSeries[] = [];

/**
 * Protobuf bytes of a WriteRequest holding samples `from`..`to` of `b`
 * (floats, then histograms: see ShardBuffer), written into `w` (reset first).
 * Synchronous, so the series' scratch fields are never shared between two
 * batches being encoded.
 */
export function encodeBatch(w: ProtoWriter, b: ShardBuffer, from: number, to: number): Buffer {
  w.reset();
  const n = b.length;
  if (from < n) encodeFloats(w, b, from, Math.min(to, n));
  // One TimeSeries per histogram, as Prometheus sends them: a histogram outweighs its labels.
  for (let i = Math.max(from, n) - n; i < to - n; i++) {
    const bytes = encodeHistogram(b.hists[i], b.hTs[i]);
    w.timeSeries(b.hSeries[i].labels, histogramFieldSize(bytes));
    w.histogram(bytes);
  }
  return w.result();
}

function encodeFloats(w: ProtoWriter, b: ShardBuffer, from: number, to: number): void {
  const mark = ++stamp;
  if (nextOf.length < to - from) nextOf = new Int32Array(to - from);
  let count = 0;
  const { series, ts } = b;
  // Samples of a batch mostly share one timestamp: its size is worked out once.
  let lastT = NaN;
  let len = 0;
  for (let i = from; i < to; i++) {
    const s = series[i];
    nextOf[i - from] = -1;
    if (ts[i] !== lastT) {
      lastT = ts[i];
      len = 2 + sampleSize(lastT);
    }
    if (s.mark !== mark) {
      s.mark = mark;
      s.first = i;
      s.samplesLen = len;
      order[count++] = s;
    } else {
      nextOf[s.last - from] = i;
      s.samplesLen += len;
    }
    s.last = i;
  }
  const { vs, stale } = b;
  for (let k = 0; k < count; k++) {
    const s = order[k];
    w.timeSeries(s.labels, s.samplesLen);
    for (let i = s.first; i >= 0; i = nextOf[i - from]) w.sample(ts, vs, i, stale[i] === 1);
  }
}
