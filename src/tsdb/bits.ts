import type { ByteSlabs } from './byte-slabs.js';
/**
 * Bit-level writer and reader for the chunk encoding. Values are written most
 * significant bit first, at most 32 bits per call; 64-bit quantities are split
 * into two 32-bit halves by the caller.
 */
const EMPTY = new Uint8Array(0);

export class BitWriter {
  /**
   * The buffer is bytes [off, off + cap) of `mem`: a slab shared with other
   * writers (head chunks), or an array of its own. No view of its own: a
   * Uint8Array is about 100 bytes, per head series.
   */
  private mem: Uint8Array;
  private off = 0;
  private cap: number;
  /** Number of bits written. */
  pos = 0;

  /** Buffers come from `slabs` (a head chunk's), or are plain arrays when none is given. */
  constructor(
    initialBytes = 64,
    private readonly slabs?: ByteSlabs,
  ) {
    if (slabs) {
      this.off = slabs.take(initialBytes);
      this.mem = slabs.slab;
      this.cap = slabs.sizeFor(initialBytes);
    } else {
      this.mem = new Uint8Array(initialBytes);
      this.cap = initialBytes;
    }
  }

  /** The whole buffer, written bytes and the zeroed rest (a view; valid until the writer grows or is released). */
  get buf(): Uint8Array {
    return this.mem.subarray(this.off, this.off + this.cap);
  }

  /** Continues writing after `bits` bits of an existing stream (a restored head chunk). */
  static resume(bytes: Uint8Array, bits: number, slabs?: ByteSlabs): BitWriter {
    const w = new BitWriter(Math.max(64, bytes.length * 2), slabs);
    const whole = bits >>> 3;
    w.mem.set(bytes.subarray(0, whole), w.off);
    if (bits & 7) w.mem[w.off + whole] = bytes[whole] & (0xff << (8 - (bits & 7)));
    w.pos = bits;
    return w;
  }

  private grow(): void {
    const old = this.mem.subarray(this.off, this.off + this.cap);
    const slabs = this.slabs;
    if (slabs) {
      // The next size class: slab space is recycled, so small steps waste less than doubling.
      const size = Math.max(64, this.cap + 1);
      const off = slabs.take(size);
      slabs.slab.set(old, off);
      slabs.give(this.mem, this.off, this.cap);
      this.mem = slabs.slab;
      this.off = off;
      this.cap = slabs.sizeFor(size);
    } else {
      const size = Math.max(64, this.cap * 2);
      const next = new Uint8Array(size);
      next.set(old);
      this.mem = next;
      this.off = 0;
      this.cap = size;
    }
  }

  /**
   * Moves the written bytes into space newly taken from the slabs, sized for
   * them plus the next byte, without giving the old space back: for after
   * ByteSlabs.restart, which forgot it. A writer of its own buffer stays.
   */
  repack(): void {
    const slabs = this.slabs;
    if (!slabs || this.cap === 0) return;
    const n = (this.pos + 7) >>> 3;
    const off = slabs.take(n + 1);
    slabs.slab.set(this.mem.subarray(this.off, this.off + n), off);
    this.mem = slabs.slab;
    this.off = off;
    this.cap = slabs.sizeFor(n + 1);
  }

  /** Gives the buffer back to its slabs; the writer is empty afterwards. */
  release(): void {
    this.slabs?.give(this.mem, this.off, this.cap);
    this.mem = EMPTY;
    this.off = 0;
    this.cap = 0;
    this.pos = 0;
  }

  writeBit(bit: number): void {
    const idx = this.pos >>> 3;
    if (idx >= this.cap) this.grow();
    if (bit) this.mem[this.off + idx] |= 0x80 >>> (this.pos & 7);
    this.pos++;
  }

  /** Writes the low `n` (0..32) bits of `v`. */
  writeBits(v: number, n: number): void {
    while (n > 0) {
      const idx = this.pos >>> 3;
      if (idx >= this.cap) this.grow();
      const free = 8 - (this.pos & 7);
      const take = n < free ? n : free;
      const bits = (v >>> (n - take)) & ((1 << take) - 1);
      this.mem[this.off + idx] |= bits << (free - take);
      this.pos += take;
      n -= take;
    }
  }

  /** The written bytes (a view; copy before the writer is written again if it must not change). */
  bytes(): Uint8Array {
    return this.mem.subarray(this.off, this.off + ((this.pos + 7) >>> 3));
  }
}

export class BitReader {
  pos = 0;
  private readonly bitLen: number;

  constructor(private readonly buf: Uint8Array) {
    this.bitLen = buf.length * 8;
  }

  /** Throws once the stream is exhausted: a truncated chunk must not decode into garbage silently. */
  private check(n: number): void {
    if (this.pos + n > this.bitLen) throw new RangeError('chunk data truncated');
  }

  readBit(): number {
    if (this.pos >= this.bitLen) this.check(1);
    const bit = (this.buf[this.pos >>> 3] >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return bit;
  }

  /** Reads `n` (0..32) bits as an unsigned number. */
  readBits(n: number): number {
    if (this.pos + n > this.bitLen) this.check(n);
    let r = 0;
    while (n > 0) {
      const avail = 8 - (this.pos & 7);
      const take = n < avail ? n : avail;
      const byte = this.buf[this.pos >>> 3];
      const bits = (byte >>> (avail - take)) & ((1 << take) - 1);
      r = (r << take) | bits;
      this.pos += take;
      n -= take;
    }
    return r >>> 0;
  }
}
