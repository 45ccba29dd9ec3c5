/**
 * Bulk decoder for the chunk format described in chunk.ts, for queries. It
 * reads the same bits as ChunkIterator, but keeps the decoder state in local
 * variables and reads whole bit fields from a 32-bit window instead of bit by
 * bit: selecting thousands of series decodes hundreds of thousands of
 * samples per query, and the iterator's per-bit calls dominated that.
 */

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

const STALE_LEAD = 31;
const MAX_SCALE = 6;
const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];

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
      // Delta-of-delta bucket: the number of leading 1 bits, at most 4.
      const w = peek32(bytes, p);
      const ones = Math.clz32(~w);
      let dod: number;
      if (ones === 0) {
        p += 1;
        dod = 0;
      } else if (ones === 1) {
        if (p + 9 > bitLen) truncated();
        dod = (w >>> 23) & 0x7f;
        if (dod >= 64) dod -= 128;
        p += 9;
      } else if (ones === 2) {
        if (p + 17 > bitLen) truncated();
        dod = (w >>> 15) & 0x3fff;
        if (dod >= 8192) dod -= 16384;
        p += 17;
      } else if (ones === 3) {
        if (p + 24 > bitLen) truncated();
        dod = (w >>> 8) & 0xfffff;
        if (dod >= 524288) dod -= 1048576;
        p += 24;
      } else {
        p += 4;
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
    const c = peek32(bytes, p);
    let isStale = false;
    if (c >>> 31 === 0) {
      p += 1; // same value
    } else if (c >>> 30 === 2) {
      // decimal delta
      p += 2;
      if (p >= bitLen) truncated();
      if (bitsAt(bytes, p, 1) === 1) {
        if (p + 4 > bitLen) truncated();
        scale = bitsAt(bytes, p + 1, 3);
        if (scale > MAX_SCALE) throw new RangeError('chunk data corrupt: bad decimal scale');
        p += 4;
      } else p += 1;
      if (p >= bitLen) truncated();
      const dw = peek32(bytes, p);
      const dOnes = Math.clz32(~dw);
      let d: number;
      if (dOnes === 0) {
        if (p + 5 > bitLen) truncated();
        d = (dw >>> 27) & 0xf;
        if (d >= 8) d -= 16;
        p += 5;
      } else if (dOnes === 1) {
        if (p + 10 > bitLen) truncated();
        d = (dw >>> 22) & 0xff;
        if (d >= 128) d -= 256;
        p += 10;
      } else if (dOnes === 2) {
        if (p + 17 > bitLen) truncated();
        d = (dw >>> 15) & 0x3fff;
        if (d >= 8192) d -= 16384;
        p += 17;
      } else if (dOnes === 3) {
        if (p + 24 > bitLen) truncated();
        d = (dw >>> 8) & 0xfffff;
        if (d >= 524288) d -= 1048576;
        p += 24;
      } else {
        p += 4;
        if (p + 32 > bitLen) truncated();
        d = peek32(bytes, p) | 0;
        p += 32;
      }
      u32[1] = vHi;
      u32[0] = vLo;
      const pw = POW10[scale];
      f64[0] = (Math.round(f64[0] * pw) + d) / pw;
      vHi = u32[1];
      vLo = u32[0];
    } else {
      let shift: number;
      let width: number;
      if (c >>> 29 === 6) {
        p += 3;
        if (lead < 0) throw new RangeError('chunk data corrupt: window reuse before any window');
        shift = trail;
        width = 64 - lead - trail;
      } else {
        p += 3;
        if (p + 5 > bitLen) truncated();
        const lz = bitsAt(bytes, p, 5);
        p += 5;
        if (lz === STALE_LEAD) {
          isStale = true;
          shift = 0;
          width = 0;
        } else {
          if (p + 6 > bitLen) truncated();
          const sig = bitsAt(bytes, p, 6) + 1;
          p += 6;
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
