/**
 * The chunk bit layout, in one place for the encoder (chunk.ts: ChunkAppender,
 * ChunkIterator) and the bulk decoder (decode.ts). See chunk.ts for the scheme.
 *
 * Every stored chunk carries one encoding byte next to its bits (block files,
 * WAL snapshots), so other sample kinds (native histograms) can get their own
 * encodings beside the float one without a format version change.
 */
export const ChunkEncoding = {
  /** Gorilla-style float samples with explicit staleness markers (chunk.ts). */
  Float: 1,
  // 2 is reserved for integer native histogram chunks.
  /** Native histogram samples with float counts (histogram-chunk.ts). */
  FloatHistogram: 3,
} as const;
export type ChunkEncoding = (typeof ChunkEncoding)[keyof typeof ChunkEncoding];

export function isKnownEncoding(e: number): e is ChunkEncoding {
  return e === ChunkEncoding.Float || e === ChunkEncoding.FloatHistogram;
}

/**
 * Timestamp delta-of-delta buckets: bucket i is written as i one-bits and a
 * zero (prefix '0', '10', '110', '1110'), then DOD_BITS[i] two's-complement
 * bits. Bucket 0 means "same delta" and has no value bits. '1111' is followed
 * by the raw 64-bit float of the delta-of-delta.
 */
export const DOD_BITS = [0, 7, 14, 20] as const;
export const DOD_RAW_PREFIX = 4;

/** Decimal value deltas: same prefix scheme, widths below; '1111' + 32 bits. */
export const DELTA_BITS = [4, 8, 14, 20] as const;
export const DELTA_RAW_BITS = 32;
export const DELTA_RAW_PREFIX = 4;

/** Value control prefixes: '0' same value, '10' decimal delta, '110' XOR in the previous window, '111' XOR in a new window. */
export const VALUE_SAME = 0;
export const VALUE_DECIMAL = 1;
export const VALUE_XOR_REUSE = 2;
export const VALUE_XOR_NEW = 3;

/** A new XOR window: LEAD_BITS of leading-zero count, SIG_BITS of (significant bits - 1). */
export const LEAD_BITS = 5;
export const SIG_BITS = 6;
/** A leading-zero count the encoder never writes (it clamps to 30): marks a staleness marker. */
export const STALE_LEAD = 31;
export const MAX_LEAD = 30;

/** Decimal scale change: one flag bit, then SCALE_BITS of the new exponent e (v * 10^e is an integer). */
export const SCALE_BITS = 3;
export const MAX_SCALE = 6;
export const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000] as const;
export const MAX_DELTA = 2 ** 31 - 1;

/** The bucket (0..3) of a signed value in `widths`, or widths.length when it needs the raw form. */
export function bucketOf(x: number, widths: readonly number[], firstIsZero: boolean): number {
  for (let i = 0; i < widths.length; i++) {
    const w = widths[i];
    if (w === 0) {
      if (firstIsZero && x === 0) return i;
      continue;
    }
    const half = 2 ** (w - 1);
    if (x >= -half && x < half) return i;
  }
  return widths.length;
}

/** Sign-extends the low `bits` of `x`. */
export function signExtend(x: number, bits: number): number {
  const half = 2 ** (bits - 1);
  return x >= half ? x - 2 * half : x;
}

/**
 * The integer d with v === (round(prev * 10^e) + d) / 10^e, if there is one of
 * at most 32 bits. The decoder computes exactly the same expression, so
 * checking it here makes the mode lossless by construction.
 */
export function decimalDelta(prev: number, v: number, e: number): number | undefined {
  const p = POW10[e];
  const base = Math.round(prev * p);
  const d = Math.round(v * p) - base;
  if (d > MAX_DELTA || d < -MAX_DELTA || !Number.isSafeInteger(base)) return undefined;
  return Object.is((base + d) / p, v) ? d : undefined;
}

/** The value the decoder rebuilds from the previous value, a scale and a decimal delta. */
export function applyDecimal(prev: number, e: number, d: number): number {
  const p = POW10[e];
  return (Math.round(prev * p) + d) / p;
}
