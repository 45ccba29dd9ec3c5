import { ByteReader, ByteWriter } from '../bytes.js';
import { ChunkEncoding, isKnownEncoding } from '../chunk-format.js';
import { beginRecord, endRecord, readLabels, RecordType, writeLabels } from '../records.js';
import type { Labels } from '../types.js';
import { decodeHistogramChunk, encodeHistogramChunk, type HistogramPoint } from '../histogram-chunk.js';

/**
 * The WAL's record payloads (framing: records.ts). A segment declares every
 * series it refers to before its first sample:
 *   Series     [ref uvarint][labels]
 *   Samples    [n uvarint] then n x [ref*2+stale uvarint][t - previous t varint][value f64, absent for a marker]
 *   HeadChunk  [ref uvarint][count uvarint][encoding u8][chunk bytes]: a checkpoint's
 *              snapshot of an open head chunk (float or histogram encoding), written
 *              first in a new segment; its samples were logged in earlier segments too.
 *   HistogramSamples  [n uvarint] then n x [ref uvarint][t - previous t varint][one-sample
 *              histogram chunk (histogram-chunk.ts), length-prefixed]. A marker ending a
 *              histogram series is logged here too, as a one-sample chunk holding a marker,
 *              so a reader knows the series' kind from the marker alone. Older WALs log it
 *              as a float marker in a Samples record; readers still take that form.
 */

export function writeSeriesRecord(w: ByteWriter, ref: number, labels: Labels): void {
  const rec = beginRecord(w, RecordType.Series);
  w.uvarint(ref);
  writeLabels(w, labels);
  endRecord(w, rec);
}

export function writeHeadChunkRecord(w: ByteWriter, ref: number, count: number, bytes: Uint8Array, encoding: ChunkEncoding = ChunkEncoding.Float): void {
  const rec = beginRecord(w, RecordType.HeadChunk);
  w.uvarint(ref);
  w.uvarint(count);
  w.u8(encoding);
  w.bytes(bytes);
  endRecord(w, rec);
}

/**
 * Writes one sample of a Samples record; `dt` is its time minus the previous sample's in
 * the record (its time, for the first). The difference rather than both times: it is a
 * small integer, while a millisecond timestamp passed to a call V8 does not inline is
 * boxed, 16 bytes of garbage per sample.
 */
export function writeSample(w: ByteWriter, ref: number, dt: number, v: number, stale: boolean): void {
  w.uvarint(ref * 2 + (stale ? 1 : 0));
  w.varint(dt);
  if (!stale) w.f64(v);
}

/** Writes one sample (or marker) of a HistogramSamples record; `prevT` as for writeSample. */
export function writeHistogramSample(w: ByteWriter, ref: number, t: number, prevT: number, h: HistogramPoint): void {
  w.uvarint(ref);
  w.varint(t - prevT);
  w.bytes(encodeHistogramChunk([0], [h]));
}

/** Reads a HistogramSamples record; `h` is 'stale' for a marker ending a histogram series. */
export function readHistogramSamplesRecord(r: ByteReader, onSample: (ref: number, t: number, h: HistogramPoint) => void): void {
  const n = r.uvarint();
  let t = 0;
  for (let k = 0; k < n; k++) {
    const ref = r.uvarint();
    t += r.varint();
    const { points } = decodeHistogramChunk(r.bytes());
    if (points.length !== 1) throw new Error('histogram sample record: not one histogram');
    onSample(ref, t, points[0]);
  }
}

export function readSeriesRecord(r: ByteReader): { ref: number; labels: Labels } {
  const ref = r.uvarint();
  return { ref, labels: Object.freeze(readLabels(r)) };
}

export function readSamplesRecord(r: ByteReader, onSample: (ref: number, t: number, v: number, stale: boolean) => void): void {
  const c = new SamplesCursor(r);
  while (c.next()) onSample(c.ref, c.t, c.v, c.stale);
}

/**
 * A Samples record read one sample at a time (after its type byte). For hot
 * readers: a callback shared by several callers is not inlined, and each
 * call then boxes its time and value (two heap numbers per sample).
 */
export class SamplesCursor {
  ref = 0;
  t = 0;
  /** NaN for a staleness marker. */
  v = 0;
  stale = false;
  private left: number;

  constructor(private readonly r: ByteReader) {
    this.left = r.uvarint();
  }

  next(): boolean {
    if (this.left === 0) return false;
    this.left--;
    const r = this.r;
    const x = r.uvarint();
    const stale = x % 2 === 1;
    this.stale = stale;
    this.t += r.varint();
    this.v = stale ? NaN : r.f64();
    this.ref = Math.floor(x / 2);
    return true;
  }
}

export function readHeadChunkRecord(r: ByteReader): { ref: number; count: number; bytes: Uint8Array; encoding: ChunkEncoding } {
  const ref = r.uvarint();
  const count = r.uvarint();
  const encoding = r.u8();
  if (!isKnownEncoding(encoding)) throw new Error(`unknown chunk encoding ${encoding}`);
  return { ref, count, bytes: r.bytes(), encoding };
}
