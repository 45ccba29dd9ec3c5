import { describe, expect, it } from 'vitest';
import { ByteSlabs } from '../../src/tsdb/byte-slabs.js';

describe('ByteSlabs', () => {
  it('hands out zeroed size-class buffers and reuses released ones zeroed', () => {
    const slabs = new ByteSlabs();
    const a = slabs.alloc(50);
    expect(a.length).toBe(64);
    expect(a.every((b) => b === 0)).toBe(true);
    a.fill(7);
    const b = slabs.alloc(64);
    b.fill(9);
    expect(a.every((x) => x === 7)).toBe(true); // neighbours do not overlap
    slabs.release(a);
    const c = slabs.alloc(33);
    expect(c.buffer).toBe(a.buffer);
    expect(c.byteOffset).toBe(a.byteOffset);
    expect(c.every((x) => x === 0)).toBe(true);
    expect(b.every((x) => x === 9)).toBe(true);
  });

  it('gives large requests buffers of their own', () => {
    const slabs = new ByteSlabs();
    const big = slabs.alloc(10_000);
    expect(big.length).toBe(10_000);
    expect(big.byteOffset).toBe(0);
    slabs.release(big);
    expect(slabs.alloc(10_000)).not.toBe(big);
  });

  it('packs copies back to back, each keeping its bytes', () => {
    const slabs = new ByteSlabs();
    const copies = Array.from({ length: 5000 }, (_, i) => slabs.copy(new Uint8Array([i & 255, (i >> 8) & 255, 1, 2, 3])));
    copies.forEach((c, i) => expect([...c]).toEqual([i & 255, (i >> 8) & 255, 1, 2, 3]));
    expect(copies[0].buffer).toBe(copies[1].buffer);
    expect(new Set(copies.map((c) => c.buffer)).size).toBeLessThan(5);
  });
});
