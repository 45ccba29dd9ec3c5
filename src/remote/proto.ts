/**
 * Prometheus remote write 1.0 messages (prompb.WriteRequest) and snappy's
 * block format, as the protocol requires.
 *
 * Encoding is written out by hand into one reusable buffer: a series' labels
 * are encoded once (`encodeLabels`) and copied into every request that
 * carries it, and samples go from the queue's columns straight to bytes, with
 * no message objects per sample. protobufjs, from the schema below, decodes
 * (the tests' and the benchmark's receivers).
 */
import type { BucketList, FloatHistogram } from '../model/histogram.js';
import type { Labels } from '../tsdb/types.js';
import { lazyRequire } from '../util/lazy-require.js';

// Loaded on first use: a server without remote write never pays for them
// (snappy's native module also starts its own threads).
const protobuf = lazyRequire<typeof import('protobufjs')>('protobufjs');
const snappy = lazyRequire<typeof import('snappy')>('snappy');

/** prompb/types.proto and prompb/remote.proto, the parts remote write 1.0 uses. */
const schema = {
  nested: {
    prometheus: {
      nested: {
        WriteRequest: {
          fields: {
            timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 },
            metadata: { rule: 'repeated', type: 'MetricMetadata', id: 3 },
          },
        },
        TimeSeries: {
          fields: {
            labels: { rule: 'repeated', type: 'Label', id: 1 },
            samples: { rule: 'repeated', type: 'Sample', id: 2 },
            histograms: { rule: 'repeated', type: 'Histogram', id: 4 },
          },
        },
        Histogram: {
          oneofs: { count: { oneof: ['count_int', 'count_float'] }, zero_count: { oneof: ['zero_count_int', 'zero_count_float'] } },
          fields: {
            count_int: { type: 'uint64', id: 1 },
            count_float: { type: 'double', id: 2 },
            sum: { type: 'double', id: 3 },
            schema: { type: 'sint32', id: 4 },
            zero_threshold: { type: 'double', id: 5 },
            zero_count_int: { type: 'uint64', id: 6 },
            zero_count_float: { type: 'double', id: 7 },
            negative_spans: { rule: 'repeated', type: 'BucketSpan', id: 8 },
            negative_deltas: { rule: 'repeated', type: 'sint64', id: 9 },
            negative_counts: { rule: 'repeated', type: 'double', id: 10 },
            positive_spans: { rule: 'repeated', type: 'BucketSpan', id: 11 },
            positive_deltas: { rule: 'repeated', type: 'sint64', id: 12 },
            positive_counts: { rule: 'repeated', type: 'double', id: 13 },
            reset_hint: { type: 'int32', id: 14 },
            timestamp: { type: 'int64', id: 15 },
            custom_values: { rule: 'repeated', type: 'double', id: 16 },
          },
        },
        BucketSpan: { fields: { offset: { type: 'sint32', id: 1 }, length: { type: 'uint32', id: 2 } } },
        Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        Sample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
        MetricMetadata: {
          fields: {
            type: { type: 'MetricType', id: 1 },
            metric_family_name: { type: 'string', id: 2 },
            help: { type: 'string', id: 4 },
            unit: { type: 'string', id: 5 },
          },
          nested: {
            MetricType: {
              values: { UNKNOWN: 0, COUNTER: 1, GAUGE: 2, HISTOGRAM: 3, GAUGEHISTOGRAM: 4, SUMMARY: 5, INFO: 6, STATESET: 7 },
            },
          },
        },
      },
    },
  },
};

let writeRequestType: import('protobufjs').Type | undefined;
const WriteRequestType = () => (writeRequestType ??= protobuf().Root.fromJSON(schema).lookupType('prometheus.WriteRequest'));

export interface ProtoLabel {
  name: string;
  value: string;
}
export interface ProtoSample {
  value: number;
  /** Unix ms. */
  timestamp: number;
}
/** A decoded prompb.Histogram (the fields of its `count` / `zero_count` oneofs that are set). */
export interface ProtoHistogram {
  count_int?: number;
  count_float?: number;
  sum: number;
  schema: number;
  zero_threshold: number;
  zero_count_int?: number;
  zero_count_float?: number;
  negative_spans: Array<{ offset: number; length: number }>;
  negative_deltas: number[];
  negative_counts: number[];
  positive_spans: Array<{ offset: number; length: number }>;
  positive_deltas: number[];
  positive_counts: number[];
  reset_hint: number;
  timestamp: number;
  custom_values: number[];
}
export interface ProtoTimeSeries {
  /** Sorted by name, as the protocol requires. */
  labels: ProtoLabel[];
  samples: ProtoSample[];
  histograms?: ProtoHistogram[];
}
export interface ProtoMetadata {
  type: number;
  metric_family_name: string;
  help: string;
  unit: string;
}
export interface WriteRequest {
  timeseries: ProtoTimeSeries[];
  metadata?: ProtoMetadata[];
}

export const METRIC_TYPES: Record<string, number> = {
  unknown: 0,
  untyped: 0,
  counter: 1,
  gauge: 2,
  histogram: 3,
  gaugehistogram: 4,
  summary: 5,
  info: 6,
  stateset: 7,
};

// Field tags: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited).
const TAG_TIMESERIES = 0x0a;
const TAG_METADATA = 0x1a;
const TAG_LABELS = 0x0a;
const TAG_SAMPLES = 0x12;
const TAG_NAME = 0x0a;
const TAG_VALUE = 0x12;
const TAG_SAMPLE_VALUE = 0x09;
const TAG_SAMPLE_TIMESTAMP = 0x10;
const TAG_HISTOGRAMS = 0x22;
const TAG_MD_TYPE = 0x08;
const TAG_MD_FAMILY = 0x12;
const TAG_MD_HELP = 0x22;
const TAG_MD_UNIT = 0x2a;

/** Prometheus's staleness marker, written bit for bit (a NaN's payload may not survive a JS number). */
const STALE_NAN_BYTES = [0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f];

export function uvarintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

/** Bytes of an int64 varint: negative numbers take all ten. */
function int64Size(v: number): number {
  return v < 0 ? 10 : uvarintSize(v);
}

/** Encoded size of one Sample message's body. */
export function sampleSize(t: number): number {
  return 1 + 8 + 1 + int64Size(t);
}

type Latin1Writer = Buffer & { latin1Write?: (s: string, offset: number, length: number) => number };

/** A growable buffer that protobuf fields are written into; reused from request to request. */
export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(initial = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  reset(): void {
    this.pos = 0;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Callers ensure room (at most 10 bytes). */
  uvarint(v: number): void {
    const b = this.buf;
    while (v >= 0x80) {
      b[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[this.pos++] = v;
  }

  /** An int64 field value: negative numbers as 64-bit two's complement, as protobuf does. */
  int64(v: number): void {
    if (v >= 0) {
      this.uvarint(v);
      return;
    }
    // Split into 32-bit halves of the two's complement; exact for safe integers.
    const hi = Math.floor(v / 0x1_0000_0000);
    let lo = (v - hi * 0x1_0000_0000) >>> 0;
    let h = hi >>> 0;
    const b = this.buf;
    for (let i = 0; i < 9; i++) {
      b[this.pos++] = (lo & 0x7f) | 0x80;
      lo = (lo >>> 7) | ((h & 0x7f) << 25);
      h >>>= 7;
    }
    b[this.pos++] = lo & 0x01;
  }

  /** Bytes of a length-delimited field, tag and length included. */
  field(tag: number, bytes: Uint8Array): void {
    this.ensure(11 + bytes.length);
    this.buf[this.pos++] = tag;
    this.uvarint(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  stringField(tag: number, s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.ensure(11 + n);
    this.buf[this.pos++] = tag;
    this.uvarint(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** The header of a length-delimited field whose body follows. */
  open(tag: number, len: number): void {
    this.ensure(11 + len);
    this.buf[this.pos++] = tag;
    this.uvarint(len);
  }

  /**
   * Starts a TimeSeries with its encoded labels; `samplesLen` is the sum of
   * `2 + sampleSize(t)` over the samples that follow (each by `sample`).
   */
  timeSeries(labels: string, samplesLen: number): void {
    this.open(TAG_TIMESERIES, labels.length + samplesLen);
    // latin1Write is what write(..., 'latin1') calls once it has checked its arguments and
    // looked up the encoding: for labels of about 100 bytes, that checking is half the cost.
    const b = this.buf as Latin1Writer;
    this.pos += b.latin1Write !== undefined ? b.latin1Write(labels, this.pos, labels.length) : b.write(labels, this.pos, labels.length, 'latin1');
  }

  /**
   * One `samples` field of a TimeSeries, sample `i` of the columns; room was ensured by
   * `timeSeries`. Columns and an index rather than the numbers: a sample time passed to
   * a call V8 does not inline is boxed, 16 bytes of garbage per sample.
   */
  sample(ts: Float64Array, vs: Float64Array, i: number, stale: boolean): void {
    const t = ts[i];
    if (t !== this.lastT) this.encodeTime(t);
    const b = this.buf;
    b[this.pos++] = TAG_SAMPLES;
    b[this.pos++] = 10 + this.tLen;
    b[this.pos++] = TAG_SAMPLE_VALUE;
    if (stale) for (const x of STALE_NAN_BYTES) b[this.pos++] = x;
    else {
      b.writeDoubleLE(vs[i], this.pos);
      this.pos += 8;
    }
    b[this.pos++] = TAG_SAMPLE_TIMESTAMP;
    const tb = this.tBytes;
    for (let k = 0; k < this.tLen; k++) b[this.pos++] = tb[k];
  }

  /** The last sample time's varint, kept: a batch's samples mostly share their scrape's timestamp. */
  private lastT = NaN;
  private readonly tBytes = new Uint8Array(10);
  private tLen = 0;

  /** Encodes `t` where the sample goes (room is there: the sample takes more) and keeps the bytes. */
  private encodeTime(t: number): void {
    const at = this.pos;
    this.int64(t);
    this.tLen = this.pos - at;
    for (let k = 0; k < this.tLen; k++) this.tBytes[k] = this.buf[at + k];
    this.pos = at;
    this.lastT = t;
  }

  /** One `histograms` field of a TimeSeries (bytes from `encodeHistogram`); room was ensured by `timeSeries`. */
  histogram(bytes: Uint8Array): void {
    this.buf[this.pos++] = TAG_HISTOGRAMS;
    this.uvarint(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  tag(tag: number): void {
    this.ensure(1);
    this.buf[this.pos++] = tag;
  }

  varintField(tag: number, v: number): void {
    this.ensure(11);
    this.buf[this.pos++] = tag;
    this.uvarint(v);
  }

  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Bytes a `histograms` field takes in a TimeSeries, tag and length included. */
export function histogramFieldSize(bytes: Uint8Array): number {
  return 1 + uvarintSize(bytes.length) + bytes.length;
}

/** prompb.Histogram.ResetHint */
const RESET_HINTS = { unknown: 0, reset: 1, not_reset: 2, gauge: 3 } as const;

function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

function allIntegers(h: FloatHistogram): boolean {
  const isCount = (x: number) => Number.isSafeInteger(x) && x >= 0;
  if (!isCount(h.count) || !isCount(h.zeroCount)) return false;
  for (const c of h.positive.cnt) if (!isCount(c)) return false;
  for (const c of h.negative.cnt) if (!isCount(c)) return false;
  return true;
}

/**
 * One side's buckets as Prometheus lays them out: spans over runs of
 * consecutive indexes (the first offset absolute, later ones the gap), then
 * the counts, packed — as deltas from the previous bucket for an integer
 * histogram, as absolute floats otherwise.
 */
function writeBuckets(w: ProtoWriter, b: BucketList, spansTag: number, deltasTag: number, countsTag: number, integer: boolean): void {
  const n = b.idx.length;
  if (n === 0) return;
  let start = 0;
  let prevEnd = 0;
  for (let i = 1; i <= n; i++) {
    if (i < n && b.idx[i] === b.idx[i - 1] + 1) continue;
    const offset = start === 0 ? b.idx[0] : b.idx[start] - prevEnd;
    const length = i - start;
    const z = zigzag(offset);
    w.varintField(spansTag, 1 + uvarintSize(z) + 1 + uvarintSize(length));
    w.varintField(0x08, z);
    w.varintField(0x10, length);
    prevEnd = b.idx[i - 1] + 1;
    start = i;
  }
  if (integer) {
    let len = 0;
    let prev = 0;
    for (const c of b.cnt) {
      len += uvarintSize(zigzag(c - prev));
      prev = c;
    }
    w.varintField(deltasTag, len);
    prev = 0;
    w.ensure(len);
    for (const c of b.cnt) {
      w.uvarint(zigzag(c - prev));
      prev = c;
    }
  } else {
    w.varintField(countsTag, n * 8);
    for (const c of b.cnt) w.f64(c);
  }
}

/**
 * A prompb.Histogram's bytes: an integer histogram (int counts, bucket counts
 * as deltas) when every count is a whole number, as a Prometheus client's
 * counter histograms are; a float histogram otherwise. `null` is the
 * staleness marker of a histogram series: a histogram whose sum is
 * Prometheus's stale NaN, as Prometheus writes it.
 */
export function encodeHistogram(h: FloatHistogram | null, t: number): Buffer {
  const w = new ProtoWriter(128);
  if (h === null) {
    w.varintField(0x08, 0);
    w.tag(0x19);
    w.ensure(8);
    for (const x of STALE_NAN_BYTES) w.buf[w.pos++] = x;
  } else {
    const integer = allIntegers(h);
    if (integer) w.varintField(0x08, h.count);
    else {
      w.tag(0x11);
      w.f64(h.count);
    }
    w.tag(0x19);
    w.f64(h.sum);
    w.varintField(0x20, zigzag(h.schema));
    w.tag(0x29);
    w.f64(h.zeroThreshold);
    if (integer) w.varintField(0x30, h.zeroCount);
    else {
      w.tag(0x39);
      w.f64(h.zeroCount);
    }
    writeBuckets(w, h.negative, 0x42, 0x4a, 0x52, integer);
    writeBuckets(w, h.positive, 0x5a, 0x62, 0x6a, integer);
    const hint = RESET_HINTS[h.counterResetHint];
    if (hint) w.varintField(0x70, hint);
    if (h.customValues?.length) {
      // Field 16 takes a two-byte tag.
      w.ensure(12);
      w.buf[w.pos++] = 0x82;
      w.buf[w.pos++] = 0x01;
      w.uvarint(h.customValues.length * 8);
      for (const c of h.customValues) w.f64(c);
    }
  }
  w.ensure(11);
  w.buf[w.pos++] = 0x78;
  w.int64(t);
  return Buffer.from(w.result());
}

/**
 * A series' `labels` fields, encoded once and copied into each TimeSeries of
 * it. The bytes come as a one-byte (latin1) string: a hundred thousand series
 * kept as strings take a fraction of the memory of as many typed arrays.
 * Labels must be sorted by name.
 */
export function encodeLabels(labels: readonly ProtoLabel[]): string {
  const w = labelsWriter;
  w.reset();
  for (const l of labels) writeLabel(w, l.name, l.value);
  return w.buf.toString('latin1', 0, w.pos);
}

/**
 * `encodeLabels` of a label set: sorted by name, empty values left out (an
 * empty value is an absent label); '' when no label is left. Writes no
 * intermediate objects: a queue encodes every series once, 100k at start-up.
 */
export function encodeLabelSet(labels: Labels): string {
  const w = labelsWriter;
  w.reset();
  for (const name of Object.keys(labels).sort()) {
    const value = labels[name];
    if (value !== '') writeLabel(w, name, value);
  }
  return w.buf.toString('latin1', 0, w.pos);
}

/** Scratch of the label encoders (synchronous: one label set at a time). */
const labelsWriter = new ProtoWriter(256);

function writeLabel(w: ProtoWriter, name: string, value: string): void {
  const n = Buffer.byteLength(name, 'utf8');
  const v = Buffer.byteLength(value, 'utf8');
  w.open(TAG_LABELS, 1 + uvarintSize(n) + n + 1 + uvarintSize(v) + v);
  w.stringField(TAG_NAME, name);
  w.stringField(TAG_VALUE, value);
}

export function writeMetadata(w: ProtoWriter, md: ProtoMetadata): void {
  const body = new ProtoWriter(256);
  body.ensure(11);
  body.buf[body.pos++] = TAG_MD_TYPE;
  body.uvarint(md.type);
  body.stringField(TAG_MD_FAMILY, md.metric_family_name);
  if (md.help) body.stringField(TAG_MD_HELP, md.help);
  if (md.unit) body.stringField(TAG_MD_UNIT, md.unit);
  w.field(TAG_METADATA, body.result());
}

/** Protobuf bytes of a WriteRequest given as objects (uncompressed). */
export function encodeWriteRequest(req: WriteRequest, w = new ProtoWriter()): Buffer {
  w.reset();
  for (const ts of req.timeseries) {
    let len = 0;
    for (const s of ts.samples) len += 2 + sampleSize(s.timestamp);
    w.timeSeries(encodeLabels(ts.labels), len);
    const times = Float64Array.from(ts.samples, (s) => s.timestamp);
    const values = Float64Array.from(ts.samples, (s) => s.value);
    for (let i = 0; i < times.length; i++) w.sample(times, values, i, false);
  }
  for (const md of req.metadata ?? []) writeMetadata(w, md);
  return w.result();
}

/** The HTTP body: snappy-compressed protobuf. */
export function compressBody(raw: Buffer): Buffer {
  return snappy().compressSync(raw);
}

export function encodeWriteBody(req: WriteRequest): Buffer {
  return compressBody(encodeWriteRequest(req));
}

/** Decodes a snappy-compressed WriteRequest body (tests and the benchmark's receiver). */
export function decodeWriteBody(body: Uint8Array): WriteRequest {
  const raw = snappy().uncompressSync(Buffer.from(body.buffer, body.byteOffset, body.byteLength)) as Buffer;
  const type = WriteRequestType();
  const msg = type.decode(raw);
  const obj = type.toObject(msg, { longs: Number, defaults: true, arrays: true }) as WriteRequest;
  return obj;
}
