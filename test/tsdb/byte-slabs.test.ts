import { describe, expect, it } from 'vitest';
import { BitWriter } from '../../src/tsdb/bits.js';
import { ByteSlabs } from '../../src/tsdb/byte-slabs.js';

describe('ByteSlabs', () => {
  it('hands out zeroed size-class buffers and reuses released ones zeroed', () => {
    const slabs = new ByteSlabs();
    const a = slabs.alloc(60);
    expect(a.length).toBe(64);
    expect(a.every((b) => b === 0)).toBe(true);
    a.fill(7);
    const b = slabs.alloc(64);
    b.fill(9);
    expect(a.every((x) => x === 7)).toBe(true); // neighbours do not overlap
    slabs.release(a);
    const c = slabs.alloc(57);
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

describe('ByteSlabs idle space', () => {
  /** What a writer of its own buffer holds after the same bits: the reference for slab writers. */
  function writeStep(ws: BitWriter[], step: number): void {
    ws.forEach((w, i) => w.writeBits((i * 2654435761 + step * 40503) >>> 0, 32));
  }

  /** How many writers hold other bytes than their reference (one expect per writer would take seconds). */
  function differing(ws: BitWriter[], ref: BitWriter[]): number {
    return ws.filter((w, i) => Buffer.compare(w.bytes(), ref[i].bytes()) !== 0).length;
  }

  it('says when writers growing in step leave their old space idle, and a restart with repacks keeps every byte', () => {
    const slabs = new ByteSlabs();
    const n = 20_000;
    const ws = Array.from({ length: n }, () => new BitWriter(64, slabs));
    const ref = Array.from({ length: n }, () => new BitWriter(64));
    let step = 0;
    while (!slabs.wasteful()) {
      writeStep(ws, step);
      writeStep(ref, step++);
      expect(step).toBeLessThan(200);
    }
    // Every writer has outgrown its first space: what they gave back fits none of them.
    expect(ws[0].bytes().length).toBeGreaterThan(64);
    slabs.restart();
    for (const w of ws) w.repack();
    expect(slabs.wasteful()).toBe(false);
    expect(differing(ws, ref)).toBe(0);
    // Writing goes on after the move, into the new space.
    for (let k = 0; k < 20; k++) {
      writeStep(ws, step);
      writeStep(ref, step++);
    }
    expect(differing(ws, ref)).toBe(0);
    // Released after the restart, the space is reused.
    const before = ws[1].bytes().length;
    ws[1].release();
    const again = new BitWriter(before, slabs);
    expect(again.buf.every((b) => b === 0)).toBe(true);
  });

  it('moves a writer to space sized for its bytes and leaves writers of their own buffer alone', () => {
    const slabs = new ByteSlabs();
    const w = new BitWriter(1024, slabs);
    w.writeBits(0xabcdef, 24);
    w.repack();
    expect(w.buf.length).toBe(16);
    expect([...w.bytes()]).toEqual([0xab, 0xcd, 0xef]);
    const own = new BitWriter(64);
    own.writeBits(1, 1);
    const buf = own.buf;
    own.repack();
    expect(own.buf.buffer).toBe(buf.buffer);
  });
});
