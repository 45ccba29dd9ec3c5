/**
 * Bulk decoder for the chunk format described in chunk.ts, for queries. It
 * reads the same bits as ChunkIterator, but keeps the decoder state in local
 * variables and reads whole bit fields from a 32-bit window instead of bit by
 * bit: selecting thousands of series decodes hundreds of thousands of
 * samples per query, and the iterator's per-bit calls dominated that.
 */

import { applyDecimal, DELTA_BITS, DELTA_RAW_BITS, DELTA_RAW_PREFIX, DOD_BITS, DOD_RAW_PREFIX, LEAD_BITS, MAX_SCALE, SCALE_BITS, SIG_BITS, STALE_LEAD, VALUE_DECIMAL, VALUE_SAME, VALUE_XOR_NEW, VALUE_XOR_REUSE } from './chunk-format.js';

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** The 32 bits starting at bit `p` (bits past the end read as 0). `p` must be inside `b`. */
function peek32(b: Uint8Array, p: number): number {
  const i = p >>> 3;
  const n = b.length;
  const hi = ((b[i] << 24) | ((i + 1 < n ? b[i + 1] : 0) << 16) | ((i + 2 < n ? b[i + 2] : 0) << 8) | (i + 3 < n ? b[i + 3] : 0)) >>> 0;
  const off = p & 7;
  if (off === 0) return hi;
  return ((hi << off) | ((i + 4 < n ? b[i + 4] : 0) >>> (8 - off))) >>> 0;
}

/** `n` (1..32) bits at `p` as an unsigned number. */
function bitsAt(b: Uint8Array, p: number, n: number): number {
  return peek32(b, p) >>> (32 - n);
}

function truncated(): never {
  throw new RangeError('chunk data truncated');
}

/** Where a decode stopped: lets a growing head chunk be decoded incrementally. */
export class DecodeState {
  /** Samples decoded so far. */
  k = 0;
  /** Bit position of the next sample. */
  p = 0;
  t = 0;
  delta = 0;
  vHi = 0;
  vLo = 0;
  lead = -1;
  trail = 0;
  scale = 0;
}

const scratchState = new DecodeState();

/**
 * Decodes the samples of a chunk with mint <= t <= maxt into `ts`/`vs` from
 * index `at`; sets `stale[i] = 1` for markers (and `out.sawStale`). Returns the
 * new write index. Stops at the first sample after maxt.
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
  const st = scratchState;
  st.k = 0;
  st.p = 0;
  st.t = 0;
  st.delta = 0;
  st.vHi = 0;
  st.vLo = 0;
  st.lead = -1;
  st.trail = 0;
  st.scale = 0;
  return decodeFrom(st, bytes, count, mint, maxt, ts, vs, stale, at, out);
}

/**
 * As decodeRange, continuing from `st` (samples st.k .. count-1), and leaving
 * `st` after the last sample decoded, unless it stopped early at maxt.
 */
export function decodeFrom(
  st: DecodeState,
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
  const bitLen = bytes.length * 8;
  let p = st.p;
  let t = st.t;
  let delta = st.delta;
  let vHi = st.vHi;
  let vLo = st.vLo;
  let lead = st.lead;
  let trail = st.trail;
  let scale = st.scale;
  let k = st.k;
  for (; k < count; k++) {
    if (k === 0) {
      if (p + 64 > bitLen) truncated();
      u32[1] = peek32(bytes, p);
      u32[0] = peek32(bytes, p + 32);
      p += 64;
      t = f64[0];
    } else {
      if (p >= bitLen) truncated();
      // Delta-of-delta bucket: the number of leading 1 bits (a zero ends the prefix).
      const w = peek32(bytes, p);
      const ones = Math.clz32(~w);
      let dod: number;
      if (ones < DOD_BITS.length) {
        const bits = DOD_BITS[ones];
        const used = ones + 1 + bits;
        if (p + used > bitLen) truncated();
        if (bits === 0) dod = 0;
        else {
          dod = (w >>> (32 - used)) & ((1 << bits) - 1);
          if (dod >= 1 << (bits - 1)) dod -= 1 << bits;
        }
        p += used;
      } else {
        p += DOD_RAW_PREFIX;
        if (p + 64 > bitLen) truncated();
        u32[1] = peek32(bytes, p);
        u32[0] = peek32(bytes, p + 32);
        p += 64;
        dod = f64[0];
      }
      delta += dod;
      t += delta;
    }
    if (t > maxt) break;

    if (p >= bitLen) truncated();
    // Value control: the number of leading 1 bits, at most 3 (VALUE_SAME .. VALUE_XOR_NEW).
    const c = peek32(bytes, p);
    const control = Math.min(Math.clz32(~c), VALUE_XOR_NEW);
    let isStale = false;
    if (control === VALUE_SAME) {
      p += 1; // same value
    } else if (control === VALUE_DECIMAL) {
      // decimal delta
      p += 2;
      if (p >= bitLen) truncated();
      if (bitsAt(bytes, p, 1) === 1) {
        if (p + 1 + SCALE_BITS > bitLen) truncated();
        scale = bitsAt(bytes, p + 1, SCALE_BITS);
        if (scale > MAX_SCALE) throw new RangeError('chunk data corrupt: bad decimal scale');
        p += 1 + SCALE_BITS;
      } else p += 1;
      if (p >= bitLen) truncated();
      const dw = peek32(bytes, p);
      const dOnes = Math.clz32(~dw);
      let d: number;
      if (dOnes < DELTA_BITS.length) {
        const bits = DELTA_BITS[dOnes];
        const used = dOnes + 1 + bits;
        if (p + used > bitLen) truncated();
        d = (dw >>> (32 - used)) & ((1 << bits) - 1);
        if (d >= 1 << (bits - 1)) d -= 1 << bits;
        p += used;
      } else {
        p += DELTA_RAW_PREFIX;
        if (p + DELTA_RAW_BITS > bitLen) truncated();
        d = peek32(bytes, p) | 0;
        p += DELTA_RAW_BITS;
      }
      u32[1] = vHi;
      u32[0] = vLo;
      f64[0] = applyDecimal(f64[0], scale, d);
      vHi = u32[1];
      vLo = u32[0];
    } else {
      let shift: number;
      let width: number;
      if (control === VALUE_XOR_REUSE) {
        p += 3;
        if (lead < 0) throw new RangeError('chunk data corrupt: window reuse before any window');
        shift = trail;
        width = 64 - lead - trail;
      } else {
        p += 3;
        if (p + LEAD_BITS > bitLen) truncated();
        const lz = bitsAt(bytes, p, LEAD_BITS);
        p += LEAD_BITS;
        if (lz === STALE_LEAD) {
          isStale = true;
          shift = 0;
          width = 0;
        } else {
          if (p + SIG_BITS > bitLen) truncated();
          const sig = bitsAt(bytes, p, SIG_BITS) + 1;
          p += SIG_BITS;
          shift = 64 - lz - sig;
          if (shift < 0) throw new RangeError('chunk data corrupt: bad XOR window');
          width = sig;
          lead = lz;
          trail = shift;
        }
      }
      if (!isStale) {
        if (p + width > bitLen) truncated();
        let sHi = 0;
        let sLo: number;
        if (width > 32) {
          sHi = bitsAt(bytes, p, width - 32);
          sLo = peek32(bytes, p + width - 32);
        } else sLo = width === 0 ? 0 : bitsAt(bytes, p, width);
        p += width;
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
        vHi = (vHi ^ xHi) >>> 0;
        vLo = (vLo ^ xLo) >>> 0;
      }
    }
    if (t < mint) continue;
    ts[at] = t;
    if (isStale) {
      vs[at] = NaN;
      stale[at] = 1;
      out.sawStale = true;
    } else {
      u32[1] = vHi;
      u32[0] = vLo;
      vs[at] = f64[0];
      stale[at] = 0;
    }
    at++;
  }
  st.k = k;
  st.p = p;
  st.t = t;
  st.delta = delta;
  st.vHi = vHi;
  st.vLo = vLo;
  st.lead = lead;
  st.trail = trail;
  st.scale = scale;
  return at;
}
