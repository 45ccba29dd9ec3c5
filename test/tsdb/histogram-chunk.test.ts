import { describe, expect, it } from 'vitest';
import { RecordDecodeError } from '../../src/tsdb/bytes.js';
import { decodeHistogramChunk, encodeHistogramChunk, type HistogramPoint } from '../../src/tsdb/histogram-chunk.js';
import type { FloatHistogram } from '../../src/model/histogram.js';

function counter(i: number): FloatHistogram {
  return {
    schema: 3,
    counterResetHint: i === 0 ? 'reset' : 'not_reset',
    zeroThreshold: 2.938735877055719e-39,
    zeroCount: 2 * i,
    count: 10 * i + 3,
    sum: 1.25 * i,
    positive: { idx: [-3, 0, 1, 7], cnt: [i, 2 * i, 3, 5 * i] },
    negative: { idx: [2], cnt: [i] },
  };
}

describe('histogram chunk encoding', () => {
  it('round-trips counters, layout changes, custom buckets, hints, NaN/-0/Inf and staleness', () => {
    const t: number[] = [];
    const points: HistogramPoint[] = [];
    for (let i = 0; i < 100; i++) {
      t.push(1_700_000_000_000 + i * 15_000 + (i % 3));
      points.push(counter(i));
    }
    t.push(t[t.length - 1] + 15_000);
    points.push('stale');
    t.push(t[t.length - 1] + 15_000);
    points.push({ ...counter(101), positive: { idx: [0, 9], cnt: [0.5, 7] }, sum: NaN, zeroCount: -0 });
    t.push(t[t.length - 1] + 15_000);
    points.push({
      schema: -53,
      counterResetHint: 'gauge',
      zeroThreshold: 0,
      zeroCount: 0,
      count: Infinity,
      sum: 4.5,
      positive: { idx: [0, 2], cnt: [1, 3] },
      negative: { idx: [], cnt: [] },
      customValues: [0.1, 0.5, 1],
    });
    const buf = encodeHistogramChunk(t, points);
    const back = decodeHistogramChunk(buf);
    expect(back.t).toEqual(t);
    expect(back.points).toEqual(points);
    // Integer counters compress: far below 8 bytes per value.
    expect(buf.length / 100).toBeLessThan(30);
  });

  it('refuses damaged chunks with a decode error instead of garbage or huge allocations', () => {
    const buf = encodeHistogramChunk([0, 1000], [counter(1), counter(2)]);
    expect(() => decodeHistogramChunk(buf.subarray(0, buf.length - 2))).toThrow(RecordDecodeError);
    expect(() => decodeHistogramChunk(Uint8Array.of(...buf, 0))).toThrow(/bytes after the last sample/);
    expect(() => decodeHistogramChunk(Uint8Array.of(0xff, 0xff, 0xff, 0x0f))).toThrow(/samples \(limit/);
    const badSchema = encodeHistogramChunk([0], [{ ...counter(1), schema: 3 }]);
    badSchema[3] = 40; // zigzag schema 20
    expect(() => decodeHistogramChunk(badSchema)).toThrow(RecordDecodeError);
    expect(() => encodeHistogramChunk([5, 5], [counter(1), counter(2)])).toThrow(/increase/);
  });
});
