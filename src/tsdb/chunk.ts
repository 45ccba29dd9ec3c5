import { BitReader, BitWriter } from './bits.js';

/**
 * Gorilla-style chunk encoding (the scheme of Facebook's Gorilla paper and
 * Prometheus' XOR chunks), with staleness markers encoded explicitly rather than
 * as a NaN payload, which JS engines do not promise to preserve.
 *
 * Timestamps: the first is written raw (64 bits), then delta-of-delta with the
 * prefix buckets '0' (same delta), '10'+14 bits, '110'+17, '1110'+20, '1111'+64 raw.
 * Values: XOR with the previous value: '0' identical, '10' meaningful bits fit
 * the previous window, '11' + 5 bits leading zeros + 6 bits (length-1) + bits.
 * A leading-zero count of 31 is never written for values (it is clamped to 30),
 * so '11' + '11111' is free to mean "staleness marker"; a marker leaves the
 * previous value untouched, so the sample after it XORs against the last real value.
 */

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('tsdb chunks need a little-endian platform');

const STALE_LEAD = 31;

function ctz32(x: number): number {
  return x === 0 ? 32 : 31 - Math.clz32(x & -x);
}

function writeShifted(w: BitWriter, hi: number, lo: number, shift: number, width: number): void {
  let sHi: number;
  let sLo: number;
  if (shift >= 32) {
    sHi = 0;
    sLo = hi >>> (shift - 32);
  } else if (shift === 0) {
    sHi = hi;
    sLo = lo;
  } else {
    sHi = hi >>> shift;
    sLo = ((lo >>> shift) | (hi << (32 - shift))) >>> 0;
  }
  if (width > 32) {
    w.writeBits(sHi, width - 32);
    w.writeBits(sLo, 32);
  } else w.writeBits(sLo, width);
}

function writeRaw64(w: BitWriter, x: number): void {
  f64[0] = x;
  w.writeBits(u32[1], 32);
  w.writeBits(u32[0], 32);
}

function readRaw64(r: BitReader): number {
  u32[1] = r.readBits(32);
  u32[0] = r.readBits(32);
  return f64[0];
}

/** The open (head) chunk of a series: samples are appended in time order. */
export class ChunkAppender {
  count = 0;
  minT = 0;
  maxT = 0;
  private delta = 0;
  private vHi = 0;
  private vLo = 0;
  private lead = -1;
  private trail = 0;

  constructor(readonly w: BitWriter = new BitWriter()) {}

  /** Rebuilds an appender from an encoded chunk of `count` samples, to keep appending to it. */
  static restore(bytes: Uint8Array, count: number): ChunkAppender {
    const it = new ChunkIterator(bytes, count);
    while (it.next()) {
      /* walk to the end to recover the encoder state */
    }
    const a = new ChunkAppender(BitWriter.resume(bytes, it.bitPos()));
    a.count = count;
    if (count > 0) {
      a.minT = it.firstT;
      a.maxT = it.t;
    }
    a.delta = it.delta;
    a.vHi = it.vHi;
    a.vLo = it.vLo;
    a.lead = it.lead;
    a.trail = it.trail;
    return a;
  }

  append(t: number, v: number, stale: boolean): void {
    const w = this.w;
    if (this.count === 0) {
      writeRaw64(w, t);
      this.minT = t;
    } else {
      const delta = t - this.maxT;
      const dod = delta - this.delta;
      this.delta = delta;
      if (dod === 0) w.writeBit(0);
      else if (dod >= -8192 && dod <= 8191) {
        w.writeBits(0b10, 2);
        w.writeBits(dod & 0x3fff, 14);
      } else if (dod >= -65536 && dod <= 65535) {
        w.writeBits(0b110, 3);
        w.writeBits(dod & 0x1ffff, 17);
      } else if (dod >= -524288 && dod <= 524287) {
        w.writeBits(0b1110, 4);
        w.writeBits(dod & 0xfffff, 20);
      } else {
        w.writeBits(0b1111, 4);
        writeRaw64(w, dod);
      }
    }
    this.maxT = t;
    this.count++;

    if (stale) {
      w.writeBits(0b11, 2);
      w.writeBits(STALE_LEAD, 5);
      return;
    }
    f64[0] = v;
    const hi = u32[1];
    const lo = u32[0];
    const xHi = (hi ^ this.vHi) >>> 0;
    const xLo = (lo ^ this.vLo) >>> 0;
    this.vHi = hi;
    this.vLo = lo;
    if (xHi === 0 && xLo === 0) {
      w.writeBit(0);
      return;
    }
    let lz = xHi !== 0 ? Math.clz32(xHi) : 32 + Math.clz32(xLo);
    const tz = xLo !== 0 ? ctz32(xLo) : 32 + ctz32(xHi);
    if (lz > 30) lz = 30;
    if (this.lead >= 0 && lz >= this.lead && tz >= this.trail) {
      w.writeBits(0b10, 2);
      writeShifted(w, xHi, xLo, this.trail, 64 - this.lead - this.trail);
    } else {
      const sig = 64 - lz - tz;
      w.writeBits(0b11, 2);
      w.writeBits(lz, 5);
      w.writeBits(sig - 1, 6);
      writeShifted(w, xHi, xLo, tz, sig);
      this.lead = lz;
      this.trail = tz;
    }
  }

  /** A compact copy of the encoded bytes. */
  bytes(): Uint8Array {
    return this.w.bytes().slice();
  }

  /** Encoded size so far. */
  byteLength(): number {
    return (this.w.pos + 7) >>> 3;
  }
}

/** Walks the samples of an encoded chunk. After `next()` returns true, `t`, `v` and `stale` hold the sample. */
export class ChunkIterator {
  t = 0;
  v = 0;
  stale = false;
  firstT = 0;
  delta = 0;
  vHi = 0;
  vLo = 0;
  lead = -1;
  trail = 0;
  private read = 0;
  private readonly r: BitReader;

  constructor(
    bytes: Uint8Array,
    private readonly count: number,
  ) {
    this.r = new BitReader(bytes);
  }

  bitPos(): number {
    return this.r.pos;
  }

  next(): boolean {
    if (this.read >= this.count) return false;
    const r = this.r;
    if (this.read === 0) {
      this.t = readRaw64(r);
      this.firstT = this.t;
    } else {
      // The dod bucket is the number of leading 1 bits (at most 4).
      let prefix = 0;
      while (prefix < 4 && r.readBit() === 1) prefix++;
      let dod: number;
      switch (prefix) {
        case 0:
          dod = 0;
          break;
        case 1:
          dod = r.readBits(14);
          if (dod >= 8192) dod -= 16384;
          break;
        case 2:
          dod = r.readBits(17);
          if (dod >= 65536) dod -= 131072;
          break;
        case 3:
          dod = r.readBits(20);
          if (dod >= 524288) dod -= 1048576;
          break;
        default:
          dod = readRaw64(r);
      }
      this.delta += dod;
      this.t += this.delta;
    }
    this.read++;

    this.stale = false;
    const control = r.readBit() === 0 ? 0 : r.readBit() === 0 ? 1 : 2;
    if (control === 0) {
      // identical to the previous value
    } else if (control === 1) {
      if (this.lead < 0) throw new RangeError('chunk data corrupt: window reuse before any window');
      this.xorIn(this.trail, 64 - this.lead - this.trail);
    } else {
      const lz = r.readBits(5);
      if (lz === STALE_LEAD) {
        this.stale = true;
        this.v = NaN;
        return true;
      }
      const sig = r.readBits(6) + 1;
      const tz = 64 - lz - sig;
      if (tz < 0) throw new RangeError('chunk data corrupt: bad XOR window');
      this.xorIn(tz, sig);
      this.lead = lz;
      this.trail = tz;
    }
    u32[1] = this.vHi;
    u32[0] = this.vLo;
    this.v = f64[0];
    return true;
  }

  private xorIn(shift: number, width: number): void {
    const r = this.r;
    let sHi = 0;
    let sLo: number;
    if (width > 32) {
      sHi = r.readBits(width - 32);
      sLo = r.readBits(32);
    } else sLo = r.readBits(width);
    let xHi: number;
    let xLo: number;
    if (shift >= 32) {
      xHi = (sLo << (shift - 32)) >>> 0;
      xLo = 0;
    } else if (shift === 0) {
      xHi = sHi;
      xLo = sLo;
    } else {
      xHi = ((sHi << shift) | (sLo >>> (32 - shift))) >>> 0;
      xLo = (sLo << shift) >>> 0;
    }
    this.vHi = (this.vHi ^ xHi) >>> 0;
    this.vLo = (this.vLo ^ xLo) >>> 0;
  }
}

/** Scratch space for staleness flags while decoding; copied out only when a marker is seen. */
let staleScratch = new Uint8Array(1024);

export function staleBuffer(n: number): Uint8Array {
  if (staleScratch.length < n) staleScratch = new Uint8Array(Math.max(n, staleScratch.length * 2));
  return staleScratch;
}

/**
 * Decodes the samples of a chunk with mint <= t <= maxt into `ts`/`vs` from
 * index `at`; sets `stale[i] = 1` for markers. Returns the new write index and
 * whether a marker was written (as a sign bit trick would be obscure, via the out object).
 */
export function decodeRange(
  bytes: Uint8Array,
  count: number,
  mint: number,
  maxt: number,
  ts: Float64Array,
  vs: Float64Array,
  stale: Uint8Array,
  at: number,
  out: { sawStale: boolean },
): number {
  const it = new ChunkIterator(bytes, count);
  while (it.next()) {
    const t = it.t;
    if (t < mint) continue;
    if (t > maxt) break;
    ts[at] = t;
    vs[at] = it.v;
    if (it.stale) {
      stale[at] = 1;
      out.sawStale = true;
    } else stale[at] = 0;
    at++;
  }
  return at;
}
