import { describe, expect, it } from 'vitest';
import { ChunkAppender, ChunkIterator, decodeRange } from '../../src/tsdb/chunk.js';

interface S {
  t: number;
  v: number;
  stale: boolean;
}

function roundTrip(samples: S[]): S[] {
  const a = new ChunkAppender();
  for (const s of samples) a.append(s.t, s.v, s.stale);
  const it = new ChunkIterator(a.bytes(), a.count);
  const out: S[] = [];
  while (it.next()) out.push({ t: it.t, v: it.v, stale: it.stale });
  return out;
}

function expectSame(got: S[], want: S[]): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    expect(got[i].t, `t[${i}]`).toBe(want[i].t);
    expect(got[i].stale, `stale[${i}]`).toBe(want[i].stale);
    // Object.is: NaN equals NaN, -0 differs from 0.
    if (!want[i].stale) expect(Object.is(got[i].v, want[i].v), `v[${i}] = ${got[i].v}, want ${want[i].v}`).toBe(true);
    else expect(got[i].v).toBeNaN();
  }
}

const T0 = 1_700_000_000_000;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

describe('chunk encoding', () => {
  it('keeps special values bit for bit: NaN, ±Inf, -0, extremes', () => {
    const vals = [0, -0, NaN, Infinity, -Infinity, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 5e-324, 1e300, -1e-300, 2 ** 53, -(2 ** 53) - 2, 0.1, 0.30000000000000004];
    const samples = vals.map((v, i) => ({ t: T0 + i * 15_000, v, stale: false }));
    expectSame(roundTrip(samples), samples);
  });

  it('encodes staleness markers explicitly, distinct from a NaN value, and resumes after them', () => {
    const samples: S[] = [
      { t: 1, v: NaN, stale: true },
      { t: 2, v: 5, stale: false },
      { t: 3, v: NaN, stale: false },
      { t: 4, v: NaN, stale: true },
      { t: 5, v: NaN, stale: false },
      { t: 6, v: 5, stale: false },
      { t: 7, v: NaN, stale: true },
      { t: 8, v: 5.25, stale: false },
    ];
    expectSame(roundTrip(samples), samples);
  });

  it('handles huge, negative-going and irregular timestamp deltas', () => {
    const ts = [-(2 ** 52), -1, 0, 1, 2, 15_002, 30_000, 30_001, 2 ** 40, 2 ** 40 + 1, 2 ** 52, 2 ** 53 - 1];
    const samples = ts.map((t, i) => ({ t, v: i, stale: false }));
    expectSame(roundTrip(samples), samples);
  });

  it('covers every delta-of-delta and value-delta bucket boundary', () => {
    const dods = [0, 63, -64, 64, -65, 8191, -8192, 8192, -8193, 524287, -524288, 524288, -524289, 2 ** 35];
    const samples: S[] = [];
    let t = T0;
    let delta = 10_000_000;
    for (const [i, dod] of dods.entries()) {
      delta += dod;
      t += delta;
      samples.push({ t, v: i, stale: false });
    }
    const dv = [0, 7, -8, 8, -9, 127, -128, 128, -129, 8191, -8192, 8192, 524287, -524288, 524288, 2 ** 31 - 1, -(2 ** 31) + 1, 2 ** 31, 2 ** 45];
    let v = 1000;
    for (const d of dv) {
      v += d;
      t += 15_000;
      samples.push({ t, v, stale: false });
    }
    expectSame(roundTrip(samples), samples);
  });

  it('compresses identical values and regular timestamps to about a bit each', () => {
    const a = new ChunkAppender();
    for (let i = 0; i < 120; i++) a.append(T0 + i * 15_000, 1, false);
    // 64-bit first timestamp, one value header, then 2 bits per sample.
    expect(a.byteLength()).toBeLessThan(50);
  });

  it('round-trips decimal series (CPU seconds style) exactly and compactly', () => {
    const r = rng(7);
    const samples: S[] = [];
    let v = 1234.56;
    for (let i = 0; i < 120; i++) {
      v = Math.round((v + r() * 0.3) * 100) / 100;
      samples.push({ t: T0 + i * 15_000, v, stale: false });
    }
    expectSame(roundTrip(samples), samples);
    const a = new ChunkAppender();
    for (const s of samples) a.append(s.t, s.v, false);
    expect(a.byteLength() / 120).toBeLessThan(2);
  });

  it('round-trips random mixes of every kind of sample', () => {
    const r = rng(99);
    for (let round = 0; round < 200; round++) {
      const samples: S[] = [];
      let t = Math.floor((r() - 0.5) * 2 ** 45);
      let v = r() * 1e6;
      const n = 1 + Math.floor(r() * 150);
      for (let i = 0; i < n; i++) {
        t += 1 + Math.floor(r() < 0.8 ? 15_000 + (r() - 0.5) * 10 : r() * 2 ** (r() * 40));
        const k = r();
        if (k < 0.05) samples.push({ t, v: NaN, stale: true });
        else {
          if (k < 0.2) {
            // unchanged value
          }
          else if (k < 0.4) v = Math.round(v + (r() - 0.3) * 100);
          else if (k < 0.55) v = Math.round(v * 100 + r() * 50) / 100;
          else if (k < 0.65) v = [NaN, Infinity, -Infinity, -0, 0][Math.floor(r() * 5)];
          else if (k < 0.8) v = (r() - 0.5) * 10 ** Math.floor(r() * 600 - 300);
          else v = r();
          samples.push({ t, v, stale: false });
        }
      }
      expectSame(roundTrip(samples), samples);
    }
  });

  it('restores an appender from its bytes and keeps appending identically', () => {
    const r = rng(3);
    const samples: S[] = [];
    let v = 10;
    for (let i = 0; i < 100; i++) {
      v = i % 10 === 9 ? NaN : Math.round((v + r() * 3) * 10) / 10;
      samples.push({ t: T0 + i * 15_000 + (i % 7), v, stale: i % 13 === 12 });
    }
    const whole = new ChunkAppender();
    for (const s of samples) whole.append(s.t, s.v, s.stale);
    const part = new ChunkAppender();
    for (const s of samples.slice(0, 37)) part.append(s.t, s.v, s.stale);
    const restored = ChunkAppender.restore(part.bytes(), part.count);
    for (const s of samples.slice(37)) restored.append(s.t, s.v, s.stale);
    expect(Buffer.from(restored.bytes()).equals(Buffer.from(whole.bytes()))).toBe(true);
    expect(restored.minT).toBe(samples[0].t);
    expect(restored.maxT).toBe(samples[99].t);
  });

  it('decodes a time range into typed arrays', () => {
    const a = new ChunkAppender();
    for (let i = 0; i < 120; i++) a.append(i * 10, i, i === 50);
    const ts = new Float64Array(120);
    const vs = new Float64Array(120);
    const st = new Uint8Array(120);
    const flag = { sawStale: false };
    const n = decodeRange(a.bytes(), a.count, 495, 505, ts, vs, st, 0, flag);
    expect(n).toBe(1);
    expect(ts[0]).toBe(500);
    expect(st[0]).toBe(1);
    expect(flag.sawStale).toBe(true);
    const m = decodeRange(a.bytes(), a.count, 100, 1000, ts, vs, st, 0, { sawStale: false });
    expect(Array.from(ts.subarray(0, m))).toEqual(Array.from({ length: 91 }, (_, i) => (i + 10) * 10));
  });

  it('reports truncated or garbage chunk bytes as an error, never loops or crashes', () => {
    const a = new ChunkAppender();
    for (let i = 0; i < 120; i++) a.append(T0 + i * 15_000, Math.random(), false);
    const bytes = a.bytes();
    const it = new ChunkIterator(bytes.subarray(0, bytes.length >> 1), 120);
    expect(() => {
      while (it.next()) {
        /* drain */
      }
    }).toThrow(/truncated|corrupt/);
    const r = rng(5);
    for (let k = 0; k < 50; k++) {
      const junk = Uint8Array.from({ length: 64 }, () => Math.floor(r() * 256));
      const g = new ChunkIterator(junk, 500);
      try {
        while (g.next()) {
          /* drain */
        }
      } catch (err) {
        expect(err).toBeInstanceOf(RangeError);
      }
    }
  });
});
