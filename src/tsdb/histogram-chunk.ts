import {
  CUSTOM_BUCKETS_SCHEMA,
  MAX_SCHEMA,
  MIN_SCHEMA,
  type BucketList,
  type CounterResetHint,
  type FloatHistogram,
} from '../model/histogram.js';
import { ByteReader, ByteWriter, RecordDecodeError } from './bytes.js';
import { ChunkEncoding } from './chunk-format.js';

/**
 * Chunk encoding for native histogram samples (float histograms: the chunk
 * encoding byte 3 the chunk format reserves for them).
 *
 * Layout: uvarint sample count, then per sample
 * - the timestamp: absolute (varint), then delta, then delta of delta;
 * - a flag byte: bit 0 layout follows, bit 1 staleness marker, bits 2-3 the
 *   counter-reset hint;
 * - when the layout changed (always on the first sample): schema, zero
 *   threshold, bucket indexes (positive, negative; first absolute, then gaps),
 *   custom bounds for schema -53;
 * - the values count, sum, zero count and every bucket count, each a tag
 *   (0 same as in the previous sample, 1 integer difference follows, 2 raw
 *   float64 follows). Counters mostly grow by small integers, which then cost
 *   one or two bytes per bucket.
 */
export const HISTOGRAM_CHUNK_ENCODING = ChunkEncoding.FloatHistogram;

const HINTS: readonly CounterResetHint[] = ['unknown', 'reset', 'not_reset', 'gauge'];
const FLAG_LAYOUT = 1;
const FLAG_STALE = 2;
const TAG_SAME = 0;
const TAG_INT_DELTA = 1;
const TAG_RAW = 2;
/** Bounds on what a chunk may declare, so a damaged one cannot allocate without limit. */
const MAX_SAMPLES = 1 << 16;
const MAX_BUCKETS = 1 << 14;

export type HistogramPoint = FloatHistogram | 'stale';

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameLayout(a: FloatHistogram, b: FloatHistogram): boolean {
  return (
    a.schema === b.schema &&
    a.zeroThreshold === b.zeroThreshold &&
    sameList(a.positive.idx, b.positive.idx) &&
    sameList(a.negative.idx, b.negative.idx) &&
    sameList(a.customValues ?? [], b.customValues ?? [])
  );
}

function valuesOf(h: FloatHistogram): number[] {
  return [h.count, h.sum, h.zeroCount, ...h.positive.cnt, ...h.negative.cnt];
}

function writeValue(w: ByteWriter, v: number, prev: number | undefined): void {
  // Object.is: NaN repeats as itself, and 0 and -0 stay apart.
  if (prev !== undefined && Object.is(v, prev)) {
    w.u8(TAG_SAME);
    return;
  }
  const base = prev ?? 0;
  const d = v - base;
  if (Number.isSafeInteger(v) && Number.isSafeInteger(base) && Number.isSafeInteger(d) && !Object.is(v, -0)) {
    w.u8(TAG_INT_DELTA);
    w.varint(d);
    return;
  }
  w.u8(TAG_RAW);
  w.f64(v);
}

function readValue(r: ByteReader, prev: number | undefined): number {
  const tag = r.u8();
  if (tag === TAG_SAME) {
    if (prev === undefined) throw new RecordDecodeError('histogram chunk: repeated value without a previous one');
    return prev;
  }
  if (tag === TAG_INT_DELTA) return (prev ?? 0) + r.varint();
  if (tag === TAG_RAW) return r.f64();
  throw new RecordDecodeError(`histogram chunk: unknown value tag ${tag}`);
}

function writeIndexes(w: ByteWriter, idx: readonly number[]): void {
  w.uvarint(idx.length);
  let prev = 0;
  idx.forEach((x, i) => {
    w.varint(i === 0 ? x : x - prev);
    prev = x;
  });
}

function readIndexes(r: ByteReader): number[] {
  const n = r.uvarint();
  if (n > MAX_BUCKETS) throw new RecordDecodeError(`histogram chunk: ${n} buckets (limit ${MAX_BUCKETS})`);
  const out: number[] = [];
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const d = r.varint();
    if (i > 0 && d <= 0) throw new RecordDecodeError('histogram chunk: bucket indexes not increasing');
    prev = i === 0 ? d : prev + d;
    out.push(prev);
  }
  return out;
}

/** Encodes samples in time order (strictly increasing timestamps). */
export function encodeHistogramChunk(t: readonly number[], points: readonly HistogramPoint[]): Uint8Array {
  if (t.length !== points.length) throw new Error('histogram chunk: times and samples differ in number');
  const w = new ByteWriter(64 + 16 * points.length);
  w.uvarint(points.length);
  let layout: FloatHistogram | undefined;
  let prevValues: number[] | undefined;
  let prevDelta = 0;
  for (let i = 0; i < points.length; i++) {
    if (i === 0) w.varint(t[0]);
    else {
      const delta = t[i] - t[i - 1];
      if (!(delta > 0)) throw new Error('histogram chunk: timestamps must increase');
      w.varint(i === 1 ? delta : delta - prevDelta);
      prevDelta = delta;
    }
    const p = points[i];
    if (p === 'stale') {
      w.u8(FLAG_STALE);
      continue;
    }
    const newLayout = !layout || !sameLayout(layout, p);
    w.u8((newLayout ? FLAG_LAYOUT : 0) | (HINTS.indexOf(p.counterResetHint) << 2));
    if (newLayout) {
      w.varint(p.schema);
      w.f64(p.zeroThreshold);
      writeIndexes(w, p.positive.idx);
      writeIndexes(w, p.negative.idx);
      if (p.schema === CUSTOM_BUCKETS_SCHEMA) {
        const cv = p.customValues ?? [];
        w.uvarint(cv.length);
        for (const c of cv) w.f64(c);
      }
      layout = p;
    }
    const values = valuesOf(p);
    values.forEach((v, k) => writeValue(w, v, newLayout && k > 2 ? undefined : prevValues?.[k]));
    prevValues = values;
  }
  return w.result().slice();
}

/** Decodes a chunk written by encodeHistogramChunk; damage raises RecordDecodeError. */
export function decodeHistogramChunk(buf: Uint8Array): { t: number[]; points: HistogramPoint[] } {
  const r = new ByteReader(buf);
  const n = r.uvarint();
  if (n > MAX_SAMPLES) throw new RecordDecodeError(`histogram chunk: ${n} samples (limit ${MAX_SAMPLES})`);
  const t: number[] = [];
  const points: HistogramPoint[] = [];
  let layout: Omit<FloatHistogram, 'count' | 'sum' | 'zeroCount' | 'counterResetHint'> | undefined;
  let prevValues: number[] | undefined;
  let prevDelta = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0) t.push(r.varint());
    else {
      const delta = i === 1 ? r.varint() : prevDelta + r.varint();
      if (!(delta > 0)) throw new RecordDecodeError('histogram chunk: timestamps do not increase');
      t.push(t[i - 1] + delta);
      prevDelta = delta;
    }
    const flags = r.u8();
    if (flags & FLAG_STALE) {
      points.push('stale');
      continue;
    }
    const hint = HINTS[(flags >> 2) & 3];
    const newLayout = (flags & FLAG_LAYOUT) !== 0;
    if (newLayout) {
      const schema = r.varint();
      if (schema !== CUSTOM_BUCKETS_SCHEMA && (schema < MIN_SCHEMA || schema > MAX_SCHEMA)) {
        throw new RecordDecodeError(`histogram chunk: schema ${schema} out of range`);
      }
      const zeroThreshold = r.f64();
      const pos = readIndexes(r);
      const neg = readIndexes(r);
      let customValues: number[] | undefined;
      if (schema === CUSTOM_BUCKETS_SCHEMA) {
        const m = r.uvarint();
        if (m > MAX_BUCKETS) throw new RecordDecodeError(`histogram chunk: ${m} custom bounds (limit ${MAX_BUCKETS})`);
        customValues = [];
        for (let k = 0; k < m; k++) customValues.push(r.f64());
      }
      const empty: BucketList = { idx: [], cnt: [] };
      layout = { schema, zeroThreshold, positive: { ...empty, idx: pos }, negative: { ...empty, idx: neg }, ...(customValues ? { customValues } : {}) };
    }
    if (!layout) throw new RecordDecodeError('histogram chunk: sample without a bucket layout');
    const width = 3 + layout.positive.idx.length + layout.negative.idx.length;
    const values: number[] = [];
    for (let k = 0; k < width; k++) values.push(readValue(r, newLayout && k > 2 ? undefined : prevValues?.[k]));
    prevValues = values;
    const np = layout.positive.idx.length;
    points.push({
      ...layout,
      counterResetHint: hint,
      count: values[0],
      sum: values[1],
      zeroCount: values[2],
      positive: { idx: layout.positive.idx, cnt: values.slice(3, 3 + np) },
      negative: { idx: layout.negative.idx, cnt: values.slice(3 + np) },
    });
  }
  if (r.remaining !== 0) throw new RecordDecodeError(`histogram chunk: ${r.remaining} bytes after the last sample`);
  return { t, points };
}
