import { BitReader, BitWriter } from './bits.js';

/**
 * Gorilla-style chunk encoding (the scheme of Facebook's Gorilla paper and
 * Prometheus' XOR chunks), with staleness markers encoded explicitly rather than
 * as a NaN payload, which JS engines do not promise to preserve.
 *
 * Timestamps: the first is written raw (64 bits), then delta-of-delta with the
 * prefix buckets '0' (same delta), '10'+7 bits, '110'+14, '1110'+20, '1111'+64 raw.
 * The 7-bit bucket (Prometheus' smallest is 14) keeps millisecond scrape jitter cheap.
 * Values, whichever is shorter per sample:
 *   '0'   identical to the previous value;
 *   '10'  decimal delta: [scale change: '1' + 3 bits e | '0'] + signed delta d in
 *         prefix buckets ('0'+4, '10'+8, '110'+14, '1110'+20, '1111'+32 bits);
 *         v = (round(prev * 10^e) + d) / 10^e. Integers (e = 0) and decimals such
 *         as CPU seconds (e = 2) cost a few bits where XOR costs 40 or more;
 *   '110' XOR with the previous value, meaningful bits within the previous window;
 *   '111' XOR with a new window: 5 bits leading zeros + 6 bits (length-1) + bits.
 * A leading-zero count of 31 is never written (it is clamped to 30), so
 * '111' + '11111' is free to mean "staleness marker"; a marker leaves the
 * previous value untouched, so the sample after it encodes against the last real value.
 */

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('tsdb chunks need a little-endian platform');

const STALE_LEAD = 31;
const MAX_SCALE = 6;
const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];
const MAX_DELTA = 2 ** 31 - 1;

/**
 * The integer d with v === (round(prev * 10^e) + d) / 10^e, if there is one of
 * at most 32 bits. The decoder computes exactly the same expression, so
 * checking it here makes the mode lossless by construction.
 */
function decimalDelta(prev: number, v: number, e: number): number | undefined {
  const p = POW10[e];
  const base = Math.round(prev * p);
  const d = Math.round(v * p) - base;
  if (d > MAX_DELTA || d < -MAX_DELTA || !Number.isSafeInteger(base)) return undefined;
  return Object.is((base + d) / p, v) ? d : undefined;
}

function deltaCost(d: number): number {
  if (d >= -8 && d <= 7) return 5;
  if (d >= -128 && d <= 127) return 10;
  if (d >= -8192 && d <= 8191) return 17;
  if (d >= -524288 && d <= 524287) return 24;
  return 36;
}

function writeDelta(w: BitWriter, d: number): void {
  if (d >= -8 && d <= 7) {
    w.writeBit(0);
    w.writeBits(d & 0xf, 4);
  } else if (d >= -128 && d <= 127) {
    w.writeBits(0b10, 2);
    w.writeBits(d & 0xff, 8);
  } else if (d >= -8192 && d <= 8191) {
    w.writeBits(0b110, 3);
    w.writeBits(d & 0x3fff, 14);
  } else if (d >= -524288 && d <= 524287) {
    w.writeBits(0b1110, 4);
    w.writeBits(d & 0xfffff, 20);
  } else {
    w.writeBits(0b1111, 4);
    w.writeBits(d >>> 0, 32);
  }
}

function readDelta(r: BitReader): number {
  let prefix = 0;
  while (prefix < 4 && r.readBit() === 1) prefix++;
  switch (prefix) {
    case 0: {
      const x = r.readBits(4);
      return x >= 8 ? x - 16 : x;
    }
    case 1: {
      const x = r.readBits(8);
      return x >= 128 ? x - 256 : x;
    }
    case 2: {
      const x = r.readBits(14);
      return x >= 8192 ? x - 16384 : x;
    }
    case 3: {
      const x = r.readBits(20);
      return x >= 524288 ? x - 1048576 : x;
    }
    default:
      return r.readBits(32) | 0;
  }
}

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
  private scale = 0;
  private prevV = 0;

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
    a.scale = it.scale;
    u32[1] = it.vHi;
    u32[0] = it.vLo;
    a.prevV = f64[0];
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
      else if (dod >= -64 && dod <= 63) {
        w.writeBits(0b10, 2);
        w.writeBits(dod & 0x7f, 7);
      } else if (dod >= -8192 && dod <= 8191) {
        w.writeBits(0b110, 3);
        w.writeBits(dod & 0x3fff, 14);
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
      w.writeBits(0b111, 3);
      w.writeBits(STALE_LEAD, 5);
      return;
    }
    const prevV = this.prevV;
    f64[0] = v;
    const hi = u32[1];
    const lo = u32[0];
    const xHi = (hi ^ this.vHi) >>> 0;
    const xLo = (lo ^ this.vLo) >>> 0;
    this.vHi = hi;
    this.vLo = lo;
    this.prevV = v;
    if (xHi === 0 && xLo === 0) {
      w.writeBit(0);
      return;
    }
    let lz = xHi !== 0 ? Math.clz32(xHi) : 32 + Math.clz32(xLo);
    const tz = xLo !== 0 ? ctz32(xLo) : 32 + ctz32(xHi);
    if (lz > 30) lz = 30;
    const reuse = this.lead >= 0 && lz >= this.lead && tz >= this.trail;
    const xorCost = reuse ? 3 + 64 - this.lead - this.trail : 14 + 64 - lz - tz;

    // Decimal delta: cheaper for integers and for decimals like 0.01 steps, which XOR handles badly.
    if (xorCost > 10 && Number.isFinite(v) && Number.isFinite(prevV)) {
      let e = this.scale;
      let d = decimalDelta(prevV, v, e);
      if (d === undefined) {
        for (e = this.scale + 1; e <= MAX_SCALE; e++) {
          d = decimalDelta(prevV, v, e);
          if (d !== undefined) break;
        }
      }
      if (d !== undefined) {
        const cost = 3 + (e !== this.scale ? 3 : 0) + deltaCost(d);
        if (cost < xorCost) {
          w.writeBits(0b10, 2);
          if (e !== this.scale) {
            w.writeBit(1);
            w.writeBits(e, 3);
            this.scale = e;
          } else w.writeBit(0);
          writeDelta(w, d);
          return;
        }
      }
    }
    if (reuse) {
      w.writeBits(0b110, 3);
      writeShifted(w, xHi, xLo, this.trail, 64 - this.lead - this.trail);
    } else {
      const sig = 64 - lz - tz;
      w.writeBits(0b111, 3);
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
  scale = 0;
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
          dod = r.readBits(7);
          if (dod >= 64) dod -= 128;
          break;
        case 2:
          dod = r.readBits(14);
          if (dod >= 8192) dod -= 16384;
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
    const control = r.readBit() === 0 ? 0 : r.readBit() === 0 ? 1 : r.readBit() === 0 ? 2 : 3;
    if (control === 0) {
      // identical to the previous value
    } else if (control === 1) {
      if (r.readBit() === 1) {
        this.scale = r.readBits(3);
        if (this.scale > MAX_SCALE) throw new RangeError('chunk data corrupt: bad decimal scale');
      }
      const d = readDelta(r);
      u32[1] = this.vHi;
      u32[0] = this.vLo;
      const p = POW10[this.scale];
      f64[0] = (Math.round(f64[0] * p) + d) / p;
      this.vHi = u32[1];
      this.vLo = u32[0];
    } else if (control === 2) {
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

export { decodeRange } from './decode.js';
