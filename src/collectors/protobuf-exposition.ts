import { lazyRequire } from '../util/lazy-require.js';
import {
  EMPTY_BUCKETS,
  HistogramError,
  bucketsFromSpans,
  MAX_SCHEMA,
  MIN_SCHEMA,
  type BucketList,
  type FloatHistogram,
} from '../model/histogram.js';
import type { Labels } from '../model/labels.js';

/**
 * Prometheus's protobuf exposition format (`io.prometheus.client`,
 * varint-length-delimited MetricFamily messages), the only form in which
 * client libraries expose native histograms. Scrapers ask for it first and
 * fall back to text, as Prometheus does.
 */

/** Accept header of a scrape that prefers protobuf, as Prometheus sends it. */
export const PROTOBUF_ACCEPT =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

/** Whether a scrape response (by its Content-Type) is the delimited protobuf format. */
export function isProtobufExposition(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [type, ...params] = contentType.split(';').map((p) => p.trim().toLowerCase());
  if (type !== 'application/vnd.google.protobuf') return false;
  const proto = params.find((p) => p.startsWith('proto='))?.slice(6);
  const encoding = params.find((p) => p.startsWith('encoding='))?.slice(9);
  return proto === 'io.prometheus.client.metricfamily' && encoding === 'delimited';
}

// The message layout of io.prometheus.client (metrics.proto), fields Vigil reads.
const SCHEMA = `
syntax = "proto2";
package io.prometheus.client;
message LabelPair { optional string name = 1; optional string value = 2; }
enum MetricType { COUNTER = 0; GAUGE = 1; SUMMARY = 2; UNTYPED = 3; HISTOGRAM = 4; GAUGE_HISTOGRAM = 5; }
message Gauge { optional double value = 1; }
message Counter { optional double value = 1; }
message Quantile { optional double quantile = 1; optional double value = 2; }
message Summary { optional uint64 sample_count = 1; optional double sample_sum = 2; repeated Quantile quantile = 3; }
message Untyped { optional double value = 1; }
message Bucket { optional uint64 cumulative_count = 1; optional double cumulative_count_float = 4; optional double upper_bound = 2; }
message BucketSpan { optional sint32 offset = 1; optional uint32 length = 2; }
message Histogram {
  optional uint64 sample_count = 1;
  optional double sample_count_float = 4;
  optional double sample_sum = 2;
  repeated Bucket bucket = 3;
  optional sint32 schema = 5;
  optional double zero_threshold = 6;
  optional uint64 zero_count = 7;
  optional double zero_count_float = 8;
  repeated BucketSpan negative_span = 9;
  repeated sint64 negative_delta = 10;
  repeated double negative_count = 11;
  repeated BucketSpan positive_span = 12;
  repeated sint64 positive_delta = 13;
  repeated double positive_count = 14;
}
message Metric {
  repeated LabelPair label = 1;
  optional Gauge gauge = 2;
  optional Counter counter = 3;
  optional Summary summary = 4;
  optional Untyped untyped = 5;
  optional Histogram histogram = 7;
  optional int64 timestamp_ms = 6;
}
message MetricFamily { optional string name = 1; optional string help = 2; optional MetricType type = 3; repeated Metric metric = 4; }
`;

// protobufjs is loaded by the first protobuf scrape: most targets answer in text.
const protobuf = lazyRequire<typeof import('protobufjs')>('protobufjs');
let metricFamily: import('protobufjs').Type | undefined;
const familyType = () => (metricFamily ??= protobuf().parse(SCHEMA, { keepCase: true }).root.lookupType('io.prometheus.client.MetricFamily'));

export interface ExposedSample {
  labels: Labels;
  value: number | FloatHistogram;
  /** Explicit timestamp of the sample (ms), when the target gave one. */
  timestampMs?: number;
}

export class ProtobufExpositionError extends Error {}

/** Upper bounds on one scrape's content, against hostile or broken targets. */
export interface ProtobufLimits {
  maxFamilies: number;
  maxBucketsPerHistogram: number;
}

const DEFAULT_LIMITS: ProtobufLimits = { maxFamilies: 100_000, maxBucketsPerHistogram: 10_000 };

interface Span {
  offset?: number;
  length?: number;
}
interface HistogramMsg {
  sample_count?: number | Long;
  sample_count_float?: number;
  sample_sum?: number;
  bucket?: Array<{ cumulative_count?: number | Long; cumulative_count_float?: number; upper_bound?: number }>;
  schema?: number;
  zero_threshold?: number;
  zero_count?: number | Long;
  zero_count_float?: number;
  negative_span?: Span[];
  negative_delta?: Array<number | Long>;
  negative_count?: number[];
  positive_span?: Span[];
  positive_delta?: Array<number | Long>;
  positive_count?: number[];
}
interface MetricMsg {
  label?: Array<{ name?: string; value?: string }>;
  gauge?: { value?: number };
  counter?: { value?: number };
  untyped?: { value?: number };
  summary?: { sample_count?: number | Long; sample_sum?: number; quantile?: Array<{ quantile?: number; value?: number }> };
  histogram?: HistogramMsg;
  timestamp_ms?: number | Long;
}
interface Long {
  toNumber(): number;
}

const num = (x: number | Long | undefined): number => (x === undefined ? 0 : typeof x === 'number' ? x : x.toNumber());

/** Buckets from spans plus either int deltas (first absolute, then differences) or float counts. */
function nativeBuckets(spans: Span[] | undefined, deltas: Array<number | Long> | undefined, counts: number[] | undefined, limits: ProtobufLimits): BucketList {
  const sp = (spans ?? []).map((s) => ({ offset: s.offset ?? 0, length: s.length ?? 0 }));
  if (sp.length === 0) return EMPTY_BUCKETS;
  if (sp.reduce((n, s) => n + s.length, 0) > limits.maxBucketsPerHistogram) {
    throw new ProtobufExpositionError(`histogram with more than ${limits.maxBucketsPerHistogram} buckets`);
  }
  let abs: number[];
  if (counts && counts.length) abs = counts;
  else {
    let c = 0;
    abs = (deltas ?? []).map((d) => (c += num(d)));
  }
  return bucketsFromSpans(sp, abs);
}

/** Whether a histogram message carries the native (sparse) form. */
function isNative(h: HistogramMsg): boolean {
  return (h.schema ?? 0) !== 0 || (h.zero_threshold ?? 0) > 0 || (h.positive_span?.length ?? 0) > 0 || (h.negative_span?.length ?? 0) > 0;
}

function toNativeHistogram(h: HistogramMsg, gauge: boolean, limits: ProtobufLimits): FloatHistogram {
  const schema = h.schema ?? 0;
  if (!Number.isInteger(schema) || schema < MIN_SCHEMA || schema > MAX_SCHEMA) {
    throw new ProtobufExpositionError(`native histogram schema ${schema} out of range [${MIN_SCHEMA}, ${MAX_SCHEMA}]`);
  }
  const countFloat = h.sample_count_float ?? 0;
  return {
    schema,
    counterResetHint: gauge ? 'gauge' : 'unknown',
    zeroThreshold: h.zero_threshold ?? 0,
    zeroCount: (h.zero_count_float ?? 0) > 0 ? h.zero_count_float! : num(h.zero_count),
    count: countFloat > 0 ? countFloat : num(h.sample_count),
    sum: h.sample_sum ?? 0,
    positive: nativeBuckets(h.positive_span, h.positive_delta, h.positive_count, limits),
    negative: nativeBuckets(h.negative_span, h.negative_delta, h.negative_count, limits),
  };
}

function formatLe(f: number): string {
  if (f === Infinity) return '+Inf';
  return String(f);
}

export interface ProtobufParseOptions {
  /** Native histograms kept as such (default); false: their classic series only. */
  nativeHistograms?: boolean;
  /** Receives each family's TYPE and HELP, as the text parser reports them. */
  metadata?: Map<string, { type?: string; help?: string }>;
}

/** MetricType enum values as the text format names them. */
const TYPE_NAMES = ['counter', 'gauge', 'summary', 'untyped', 'histogram', 'gaugehistogram'];

/**
 * Parses one scrape body. Counters, gauges and untyped metrics give a float
 * sample each; summaries and classic histograms their usual series; a
 * histogram with a native part gives one native histogram sample under its
 * name (its classic buckets, if also exposed, are not kept — Prometheus's
 * default); with `nativeHistograms` false every histogram gives its classic
 * series, as Prometheus does with native histograms off.
 */
export function parseProtobufExposition(body: Uint8Array, limits: ProtobufLimits = DEFAULT_LIMITS, opts: ProtobufParseOptions = {}): ExposedSample[] {
  const nativeHistograms = opts.nativeHistograms ?? true;
  const MetricFamily = familyType();
  const reader = protobuf().Reader.create(body);
  const out: ExposedSample[] = [];
  let families = 0;
  while (reader.pos < reader.len) {
    if (++families > limits.maxFamilies) throw new ProtobufExpositionError(`more than ${limits.maxFamilies} metric families`);
    let fam: { name?: string; help?: string; type?: number; metric?: MetricMsg[] };
    try {
      fam = MetricFamily.toObject(MetricFamily.decodeDelimited(reader), { defaults: false }) as typeof fam;
    } catch (err) {
      throw new ProtobufExpositionError(`metric family ${families}: malformed protobuf: ${(err as Error).message}`);
    }
    const name = fam.name ?? '';
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new ProtobufExpositionError(`metric family ${families}: invalid metric name ${JSON.stringify(name)}`);
    opts.metadata?.set(name, { type: TYPE_NAMES[fam.type ?? 3] ?? 'untyped', ...(fam.help ? { help: fam.help } : {}) });
    for (const m of fam.metric ?? []) {
      const base: Record<string, string> = {};
      for (const l of m.label ?? []) if (l.name) base[l.name] = l.value ?? '';
      const ts = m.timestamp_ms === undefined ? undefined : num(m.timestamp_ms);
      const push = (suffix: string, value: number | FloatHistogram, extra: Record<string, string> = {}) =>
        out.push({ labels: { ...base, ...extra, __name__: name + suffix }, value, ...(ts !== undefined ? { timestampMs: ts } : {}) });
      const type = fam.type ?? 3;
      if ((type === 4 || type === 5) && m.histogram) {
        const h = m.histogram;
        // Without native histograms, only the classic buckets a histogram may also expose are kept.
        if (nativeHistograms && isNative(h)) {
          try {
            push('', toNativeHistogram(h, type === 5, limits));
          } catch (err) {
            if (err instanceof HistogramError) throw new ProtobufExpositionError(`${name}: ${err.message}`);
            throw err;
          }
          continue;
        }
        for (const b of h.bucket ?? []) {
          const c = (b.cumulative_count_float ?? 0) > 0 ? b.cumulative_count_float! : num(b.cumulative_count);
          push('_bucket', c, { le: formatLe(b.upper_bound ?? 0) });
        }
        const count = (h.sample_count_float ?? 0) > 0 ? h.sample_count_float! : num(h.sample_count);
        if (!(h.bucket ?? []).some((b) => b.upper_bound === Infinity)) push('_bucket', count, { le: '+Inf' });
        push('_sum', h.sample_sum ?? 0);
        push('_count', count);
      } else if (type === 2 && m.summary) {
        for (const q of m.summary.quantile ?? []) push('', q.value ?? 0, { quantile: String(q.quantile ?? 0) });
        push('_sum', m.summary.sample_sum ?? 0);
        push('_count', num(m.summary.sample_count));
      } else {
        push('', m.counter?.value ?? m.gauge?.value ?? m.untyped?.value ?? 0);
      }
    }
  }
  return out;
}

/** Encodes metric families, for tests and stand-ins (the inverse of parseProtobufExposition's input). */
export function encodeProtobufExposition(families: unknown[]): Uint8Array {
  const MetricFamily = familyType();
  const w = protobuf().Writer.create();
  for (const f of families) MetricFamily.encodeDelimited(MetricFamily.fromObject(f as Record<string, unknown>), w);
  return w.finish();
}
