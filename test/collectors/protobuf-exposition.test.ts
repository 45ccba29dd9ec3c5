import { describe, expect, it } from 'vitest';
import {
  ProtobufExpositionError,
  encodeProtobufExposition,
  isProtobufExposition,
  parseProtobufExposition,
} from '../../src/collectors/protobuf-exposition.js';
import type { FloatHistogram } from '../../src/model/histogram.js';

const nativeFamily = {
  name: 'rpc_seconds',
  type: 4,
  metric: [
    {
      label: [{ name: 'route', value: '/a' }],
      histogram: {
        sample_count: 6,
        sample_sum: 3.5,
        schema: 0,
        zero_threshold: 0.001,
        zero_count: 1,
        positive_span: [
          { offset: 0, length: 2 },
          { offset: 1, length: 1 },
        ],
        // Deltas: absolute 1, 2, 1.
        positive_delta: [1, 1, -1],
        negative_span: [{ offset: 1, length: 1 }],
        negative_delta: [1],
      },
    },
  ],
};

describe('protobuf exposition', () => {
  it('recognises the delimited protobuf content type only', () => {
    expect(isProtobufExposition('application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited')).toBe(true);
    expect(isProtobufExposition('application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=text')).toBe(false);
    expect(isProtobufExposition('text/plain; version=0.0.4')).toBe(false);
    expect(isProtobufExposition(undefined)).toBe(false);
  });

  it('turns a native histogram into one histogram sample (spans and int deltas)', () => {
    const [s] = parseProtobufExposition(encodeProtobufExposition([nativeFamily]));
    expect(s.labels).toEqual({ route: '/a', __name__: 'rpc_seconds' });
    const h = s.value as FloatHistogram;
    expect(h.count).toBe(6);
    expect(h.zeroCount).toBe(1);
    expect(h.positive).toEqual({ idx: [0, 1, 3], cnt: [1, 2, 1] });
    expect(h.negative).toEqual({ idx: [1], cnt: [1] });
  });

  it('reports TYPE and HELP per family, and gives classic series only with native histograms off', () => {
    const metadata = new Map<string, { type?: string; help?: string }>();
    const body = encodeProtobufExposition([{ ...nativeFamily, help: 'RPC latency.' }, { name: 'up_total', type: 0, metric: [{ counter: { value: 1 } }] }]);
    const samples = parseProtobufExposition(body, undefined, { nativeHistograms: false, metadata });
    expect([...metadata]).toEqual([
      ['rpc_seconds', { type: 'histogram', help: 'RPC latency.' }],
      ['up_total', { type: 'counter' }],
    ]);
    expect(samples.map((s) => s.labels.__name__)).toEqual(['rpc_seconds_bucket', 'rpc_seconds_sum', 'rpc_seconds_count', 'up_total']);
  });

  it('keeps classic histograms, summaries, counters and gauges as float series', () => {
    const samples = parseProtobufExposition(
      encodeProtobufExposition([
        { name: 'up', type: 1, metric: [{ gauge: { value: 1 } }] },
        { name: 'reqs_total', type: 0, metric: [{ counter: { value: 7 }, timestamp_ms: 1000 }] },
        { name: 'lat', type: 4, metric: [{ histogram: { sample_count: 3, sample_sum: 1, bucket: [{ upper_bound: 0.5, cumulative_count: 2 }] } }] },
        { name: 'sz', type: 2, metric: [{ summary: { sample_count: 2, sample_sum: 4, quantile: [{ quantile: 0.5, value: 2 }] } }] },
      ]),
    );
    expect(samples.map((s) => [s.labels.__name__, s.labels.le ?? s.labels.quantile ?? '', s.value, s.timestampMs])).toEqual([
      ['up', '', 1, undefined],
      ['reqs_total', '', 7, 1000],
      ['lat_bucket', '0.5', 2, undefined],
      ['lat_bucket', '+Inf', 3, undefined],
      ['lat_sum', '', 1, undefined],
      ['lat_count', '', 3, undefined],
      ['sz', '0.5', 2, undefined],
      ['sz_sum', '', 4, undefined],
      ['sz_count', '', 2, undefined],
    ]);
  });

  it('rejects truncated, garbage and hostile bodies with a clear error', () => {
    const good = encodeProtobufExposition([nativeFamily]);
    expect(() => parseProtobufExposition(good.subarray(0, good.length - 3))).toThrow(ProtobufExpositionError);
    expect(() => parseProtobufExposition(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]))).toThrow(ProtobufExpositionError);
    const badName = encodeProtobufExposition([{ name: 'bad name', type: 1, metric: [{ gauge: { value: 1 } }] }]);
    expect(() => parseProtobufExposition(badName)).toThrow(/invalid metric name/);
    const badSchema = encodeProtobufExposition([{ ...nativeFamily, metric: [{ histogram: { ...nativeFamily.metric[0].histogram, schema: 9 } }] }]);
    expect(() => parseProtobufExposition(badSchema)).toThrow(/schema 9 out of range/);
    const huge = encodeProtobufExposition([
      { ...nativeFamily, metric: [{ histogram: { ...nativeFamily.metric[0].histogram, positive_span: [{ offset: 0, length: 4_000_000_000 }] } }] },
    ]);
    expect(() => parseProtobufExposition(huge)).toThrow(/more than 10000 buckets/);
    const mismatch = encodeProtobufExposition([{ ...nativeFamily, metric: [{ histogram: { ...nativeFamily.metric[0].histogram, positive_delta: [1] } }] }]);
    expect(() => parseProtobufExposition(mismatch)).toThrow(ProtobufExpositionError);
    const many = encodeProtobufExposition(Array.from({ length: 5 }, (_, i) => ({ name: `m${i}`, type: 1, metric: [{ gauge: { value: i } }] })));
    expect(() => parseProtobufExposition(many, { maxFamilies: 3, maxBucketsPerHistogram: 10 })).toThrow(/more than 3 metric families/);
  });
});
