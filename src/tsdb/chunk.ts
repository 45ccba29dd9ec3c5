import { BitReader, BitWriter } from './bits.js';
import { chunkSlabs } from './byte-slabs.js';
import {
  applyDecimal,
  bucketOf,
  decimalDelta,
  DELTA_BITS,
  DELTA_RAW_BITS,
  DELTA_RAW_PREFIX,
  DOD_BITS,
  DOD_RAW_PREFIX,
  LEAD_BITS,
  MAX_LEAD,
  MAX_SCALE,
  SCALE_BITS,
  SIG_BITS,
  signExtend,
  STALE_LEAD,
  VALUE_DECIMAL,
  VALUE_SAME,
  VALUE_XOR_NEW,
  VALUE_XOR_REUSE,
} from './chunk-format.js';

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

function deltaCost(d: number): number {
  const b = bucketOf(d, DELTA_BITS, false);
  return b < DELTA_BITS.length ? b + 1 + DELTA_BITS[b] : DELTA_RAW_PREFIX + DELTA_RAW_BITS;
}

/** Writes bucket `b`'s prefix: b one-bits and a zero, or the all-ones raw prefix. */
function writePrefix(w: BitWriter, b: number, buckets: number): void {
  if (b < buckets) w.writeBits(((1 << b) - 1) << 1, b + 1);
  else w.writeBits((1 << buckets) - 1, buckets);
}

function readPrefix(r: BitReader, buckets: number): number {
  let prefix = 0;
  while (prefix < buckets && r.readBit() === 1) prefix++;
  return prefix;
}

function writeDelta(w: BitWriter, d: number): void {
  const b = bucketOf(d, DELTA_BITS, false);
  writePrefix(w, b, DELTA_BITS.length);
  if (b < DELTA_BITS.length) {
    const bits = DELTA_BITS[b];
    w.writeBits(d & ((1 << bits) - 1), bits);
  } else w.writeBits(d >>> 0, DELTA_RAW_BITS);
}

function readDelta(r: BitReader): number {
  const b = readPrefix(r, DELTA_BITS.length);
  if (b < DELTA_BITS.length) return signExtend(r.readBits(DELTA_BITS[b]), DELTA_BITS[b]);
  return r.readBits(DELTA_RAW_BITS) | 0;
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

/** The double whose high and low 32 bits these are. */
function float64Of(hi: number, lo: number): number {
  u32[1] = hi;
  u32[0] = lo;
  return f64[0];
}

function readRaw64(r: BitReader): number {
  u32[1] = r.readBits(32);
  u32[0] = r.readBits(32);
  return f64[0];
}

/** `n` as a small integer when it is one (see ChunkAppender's fields); else unchanged. */
function small(n: number): number {
  return n === (n | 0) ? n | 0 : n;
}

/** The open (head) chunk of a series: samples are appended in time order. */
export class ChunkAppender {
  count = 0;
  /** The first sample's time (0 while empty). */
  minT = 0;
  /**
   * The rest of the encoder state is kept in fields that fit V8's small
   * integers: a field holding a double (a timestamp, a value, a uint32 above
   * 2^31) is a separate 16-byte heap number per appender, one per field, for
   * every head series. So the last time is kept as its distance from the
   * first, and the previous value as its two 32-bit halves (signed). Span and
   * delta are stored through `small`: a difference of doubles is itself a
   * double to V8, and one double stored turns the field into a boxed number
   * for every appender, even when the values are small integers.
   */
  private span = 0;
  private delta = 0;
  private vHi = 0;
  private vLo = 0;
  private lead = -1;
  private trail = 0;
  private scale = 0;

  /** A head chunk's buffer lives in the shared chunk slabs (see byte-slabs.ts) until `release`. */
  constructor(readonly w: BitWriter = new BitWriter(64, chunkSlabs)) {}

  /** The last sample's time (0 while empty). */
  get maxT(): number {
    return this.minT + this.span;
  }

  /** Rebuilds an appender from an encoded chunk of `count` samples, to keep appending to it. */
  static restore(bytes: Uint8Array, count: number): ChunkAppender {
    const it = new ChunkIterator(bytes, count);
    while (it.next()) {
      /* walk to the end to recover the encoder state */
    }
    const a = new ChunkAppender(BitWriter.resume(bytes, it.bitPos(), chunkSlabs));
    a.count = count;
    if (count > 0) {
      a.minT = it.firstT;
      a.span = small(it.t - it.firstT);
    }
    a.delta = small(it.delta);
    a.vHi = it.vHi | 0;
    a.vLo = it.vLo | 0;
    a.lead = it.lead;
    a.trail = it.trail;
    a.scale = it.scale;
    return a;
  }

  append(t: number, v: number, stale: boolean): void {
    const w = this.w;
    if (this.count === 0) {
      writeRaw64(w, t);
      this.minT = t;
      this.span = 0;
    } else {
      const minT = this.minT;
      const delta = t - (minT + this.span);
      const dod = delta - this.delta;
      this.delta = small(delta);
      const b = bucketOf(dod, DOD_BITS, true);
      writePrefix(w, b, DOD_RAW_PREFIX);
      if (b >= DOD_BITS.length) writeRaw64(w, dod);
      else if (DOD_BITS[b] > 0) w.writeBits(dod & ((1 << DOD_BITS[b]) - 1), DOD_BITS[b]);
      this.span = small(t - minT);
    }
    this.count++;

    if (stale) {
      writePrefix(w, VALUE_XOR_NEW, VALUE_XOR_NEW);
      w.writeBits(STALE_LEAD, LEAD_BITS);
      return;
    }
    const pHi = this.vHi;
    const pLo = this.vLo;
    f64[0] = v;
    const hi = u32[1];
    const lo = u32[0];
    const xHi = (hi ^ pHi) >>> 0;
    const xLo = (lo ^ pLo) >>> 0;
    this.vHi = hi | 0;
    this.vLo = lo | 0;
    if (xHi === 0 && xLo === 0) {
      writePrefix(w, VALUE_SAME, VALUE_XOR_NEW);
      return;
    }
    let lz = xHi !== 0 ? Math.clz32(xHi) : 32 + Math.clz32(xLo);
    const tz = xLo !== 0 ? ctz32(xLo) : 32 + ctz32(xHi);
    if (lz > MAX_LEAD) lz = MAX_LEAD;
    const reuse = this.lead >= 0 && lz >= this.lead && tz >= this.trail;
    const xorCost = reuse ? 3 + 64 - this.lead - this.trail : 3 + LEAD_BITS + SIG_BITS + 64 - lz - tz;

    // Decimal delta: cheaper for integers and for decimals like 0.01 steps, which XOR handles badly.
    const prevV = xorCost > 10 ? float64Of(pHi, pLo) : NaN;
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
        const cost = 3 + (e !== this.scale ? SCALE_BITS : 0) + deltaCost(d);
        if (cost < xorCost) {
          writePrefix(w, VALUE_DECIMAL, VALUE_XOR_NEW);
          if (e !== this.scale) {
            w.writeBit(1);
            w.writeBits(e, SCALE_BITS);
            this.scale = e;
          } else w.writeBit(0);
          writeDelta(w, d);
          return;
        }
      }
    }
    if (reuse) {
      writePrefix(w, VALUE_XOR_REUSE, VALUE_XOR_NEW);
      writeShifted(w, xHi, xLo, this.trail, 64 - this.lead - this.trail);
    } else {
      const sig = 64 - lz - tz;
      writePrefix(w, VALUE_XOR_NEW, VALUE_XOR_NEW);
      w.writeBits(lz, LEAD_BITS);
      w.writeBits(sig - 1, SIG_BITS);
      writeShifted(w, xHi, xLo, tz, sig);
      this.lead = lz;
      this.trail = tz;
    }
  }

  /** A compact copy of the encoded bytes. */
  bytes(): Uint8Array {
    return chunkSlabs.copy(this.w.bytes());
  }

  /** Gives the buffer back to the slabs: the appender is done with (cut, dropped). */
  release(): void {
    this.w.release();
    this.count = 0;
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
      const b = readPrefix(r, DOD_RAW_PREFIX);
      const dod = b >= DOD_BITS.length ? readRaw64(r) : DOD_BITS[b] === 0 ? 0 : signExtend(r.readBits(DOD_BITS[b]), DOD_BITS[b]);
      this.delta += dod;
      this.t += this.delta;
    }
    this.read++;

    this.stale = false;
    const control = readPrefix(r, VALUE_XOR_NEW);
    if (control === VALUE_SAME) {
      // identical to the previous value
    } else if (control === VALUE_DECIMAL) {
      if (r.readBit() === 1) {
        this.scale = r.readBits(SCALE_BITS);
        if (this.scale > MAX_SCALE) throw new RangeError('chunk data corrupt: bad decimal scale');
      }
      const d = readDelta(r);
      u32[1] = this.vHi;
      u32[0] = this.vLo;
      f64[0] = applyDecimal(f64[0], this.scale, d);
      this.vHi = u32[1];
      this.vLo = u32[0];
    } else if (control === VALUE_XOR_REUSE) {
      if (this.lead < 0) throw new RangeError('chunk data corrupt: window reuse before any window');
      this.xorIn(this.trail, 64 - this.lead - this.trail);
    } else {
      const lz = r.readBits(LEAD_BITS);
      if (lz === STALE_LEAD) {
        this.stale = true;
        this.v = NaN;
        return true;
      }
      const sig = r.readBits(SIG_BITS) + 1;
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
