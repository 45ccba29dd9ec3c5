import { describe, expect, it } from 'vitest';
import { ChunkAppender, ChunkIterator, decodeRange } from '../../src/tsdb/chunk.js';

/** Small deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const T0 = 1_700_000_000_000;

/** A chunk mixing every encoding: same values, decimals, XOR windows, markers, odd timestamp steps. */
function randomChunk(seed: number, n: number): ChunkAppender {
  const r = rng(seed);
  const a = new ChunkAppender();
  let t = T0 + Math.floor(r() * 1000);
  let v = Math.floor(r() * 1000);
  for (let i = 0; i < n; i++) {
    const step = r();
    t += step < 0.6 ? 15_000 : step < 0.8 ? 15_000 + Math.floor(r() * 200) - 100 : step < 0.9 ? Math.floor(r() * 20_000_000) + 1 : 2 ** 33 + Math.floor(r() * 1e6);
    const kind = r();
    if (kind < 0.2) {
      /* same value */
    } else if (kind < 0.4) v += Math.floor(r() * 100);
    else if (kind < 0.55) v = Math.round((v + r() * 3) * 100) / 100;
    else if (kind < 0.7) v = r() * 1e9;
    else if (kind < 0.75) v = [NaN, Infinity, -Infinity, -0, 0, Number.MAX_VALUE, Number.MIN_VALUE][Math.floor(r() * 7)];
    else if (kind < 0.85) v = -r() * 1e-5;
    else v += 2 ** 40 * r();
    a.append(t, v, r() < 0.05);
  }
  return a;
}

function viaIterator(bytes: Uint8Array, count: number, mint: number, maxt: number) {
  const it = new ChunkIterator(bytes, count);
  const out: Array<{ t: number; v: number; stale: boolean }> = [];
  while (it.next()) {
    if (it.t < mint) continue;
    if (it.t > maxt) break;
    out.push({ t: it.t, v: it.v, stale: it.stale });
  }
  return out;
}

function viaDecoder(bytes: Uint8Array, count: number, mint: number, maxt: number) {
  const ts = new Float64Array(count);
  const vs = new Float64Array(count);
  const st = new Uint8Array(count);
  const flag = { sawStale: false };
  const n = decodeRange(bytes, count, mint, maxt, ts, vs, st, 0, flag);
  const out = Array.from({ length: n }, (_, i) => ({ t: ts[i], v: vs[i], stale: st[i] === 1 }));
  expect(flag.sawStale).toBe(out.some((s) => s.stale));
  return out;
}

function outcome(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
}

describe('bulk chunk decoder', () => {
  it('decodes exactly what the reference iterator decodes, for every encoding and any range', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const a = randomChunk(seed, 1 + (seed % 150));
      const bytes = a.bytes();
      const all = viaIterator(bytes, a.count, -Infinity, Infinity);
      const got = viaDecoder(bytes, a.count, -Infinity, Infinity);
      expect(got.length).toBe(all.length);
      for (let i = 0; i < all.length; i++) {
        expect(got[i].t).toBe(all[i].t);
        expect(got[i].stale).toBe(all[i].stale);
        expect(Object.is(got[i].v, all[i].v) || (all[i].stale && Number.isNaN(got[i].v)), `seed ${seed} sample ${i}`).toBe(true);
      }
      // A sub-range, as a query window would ask for.
      const lo = all[Math.floor(all.length / 3)].t;
      const hi = all[Math.floor((2 * all.length) / 3)].t;
      expect(viaDecoder(bytes, a.count, lo, hi).map((s) => s.t)).toEqual(all.filter((s) => s.t >= lo && s.t <= hi).map((s) => s.t));
      // The head chunk is read from the writer's larger, zero-padded buffer.
      expect(viaDecoder(a.w.buf, a.count, -Infinity, Infinity).map((s) => s.t)).toEqual(all.map((s) => s.t));
    }
  });

  it('fails on truncated or junk chunks as the iterator does, never reading garbage silently', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const a = randomChunk(seed, 120);
      const bytes = a.bytes();
      for (const cut of [0, 1, 7, 8, bytes.length >> 2, bytes.length >> 1, bytes.length - 1]) {
        const part = bytes.slice(0, cut);
        const want = outcome(() => viaIterator(part, a.count, -Infinity, Infinity));
        const got = outcome(() => viaDecoder(part, a.count, -Infinity, Infinity));
        expect(typeof got === 'string', `seed ${seed} cut ${cut}`).toBe(typeof want === 'string');
        if (typeof want === 'string') expect(got).toMatch(/^RangeError: chunk data/);
      }
    }
    const r = rng(99);
    for (let i = 0; i < 200; i++) {
      const junk = Uint8Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256));
      const want = outcome(() => viaIterator(junk, 300, -Infinity, Infinity));
      const got = outcome(() => viaDecoder(junk, 300, -Infinity, Infinity));
      if (typeof want === 'string') expect(got).toBe(want);
      else expect(JSON.stringify(got)).toBe(JSON.stringify(want));
    }
  });
});

describe('decoded chunk cache', () => {
  it('gives select the same samples as decoding afresh, while the head chunk grows and after it is cut', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { openTsdb } = await import('../../src/tsdb/index.js');
    const dirs = [mkdtempSync(join(tmpdir(), 'vigil-decode-a-')), mkdtempSync(join(tmpdir(), 'vigil-decode-b-'))];
    const cached = await openTsdb({ dir: dirs[0], retentionMs: 1e12, checkpointIntervalMs: 0, chunkSize: 30 });
    const plain = await openTsdb({ dir: dirs[1], retentionMs: 1e12, checkpointIntervalMs: 0, chunkSize: 30, decodedCacheBytes: 0 });
    try {
      const r = rng(5);
      const m = [{ type: '=~' as const, name: '__name__', value: 'm.*' }];
      for (let i = 0; i < 100; i++) {
        for (const db of [cached, plain]) {
          const app = db.appender();
          for (let s = 0; s < 5; s++) {
            const labels = { __name__: `m${s}`, i: String(s) };
            if ((i + s) % 17 === 16) app.appendStale(labels, T0 + i * 1000);
            else app.append(labels, T0 + i * 1000, Math.round(Math.sin(i + s) * 1000) / 100);
          }
          await app.commit();
        }
        const lo = T0 + Math.floor(r() * i) * 1000 - 500;
        const hi = lo + Math.floor(r() * 40_000);
        const a = cached.querier().select(m, lo, hi);
        const b = plain.querier().select(m, lo, hi);
        expect(a.map((s) => [s.labels, Array.from(s.t), Array.from(s.v), s.stale && Array.from(s.stale)])).toEqual(
          b.map((s) => [s.labels, Array.from(s.t), Array.from(s.v), s.stale && Array.from(s.stale)]),
        );
      }
      expect(cached.decoded.hits).toBeGreaterThan(0);
    } finally {
      await cached.close();
      await plain.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});
