import { DecodeState, decodeFrom } from './decode.js';

/** Samples of one chunk, decoded. Arrays may be longer than `n` (room for a growing head chunk). */
export interface DecodedChunk {
  n: number;
  t: Float64Array;
  v: Float64Array;
  /** Staleness flags, allocated only once a marker is seen. */
  stale: Uint8Array | null;
  /** Decoder position after sample n-1, to continue a head chunk. */
  readonly state: DecodeState;
}

export type CacheKey = object | string;

/** Per-sample cost of a cached chunk: t + v, plus the entry itself. */
const SAMPLE_BYTES = 16;
const ENTRY_BYTES = 200;

/**
 * Decoded chunks, least recently used first out, within a byte budget. Rules
 * and dashboards query the same recent windows every few seconds; decoding
 * Gorilla chunks again each time was most of a query's cost. Closed chunks
 * never change; a head chunk only grows, so its entry is extended with the
 * new samples. Keys are the head chunk objects, or block file and offset for
 * chunks on disk, so a cut or dropped chunk's entry simply ages out.
 */
export class DecodedChunkCache {
  private readonly entries = new Map<CacheKey, DecodedChunk>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly budgetBytes: number) {}

  /**
   * The decoded samples of the chunk `key` whose encoding is the first
   * `count` samples of `buf`. `capacity` sizes the arrays of a chunk that
   * will grow (the head). Returns undefined when caching is off.
   */
  get(key: CacheKey, buf: Uint8Array, count: number, capacity: number): DecodedChunk | undefined {
    if (this.budgetBytes <= 0) return undefined;
    let e = this.entries.get(key);
    if (e !== undefined && e.n > count) {
      // Cannot happen for an append-only chunk; decode afresh rather than trust it.
      this.drop(key, e);
      e = undefined;
    }
    if (e !== undefined) {
      this.hits++;
      this.entries.delete(key);
      this.entries.set(key, e);
      if (e.n < count) this.extend(key, e, buf, count);
      return e;
    }
    this.misses++;
    const size = Math.max(count, capacity);
    e = { n: 0, t: new Float64Array(size), v: new Float64Array(size), stale: null, state: new DecodeState() };
    this.entries.set(key, e);
    this.bytes += ENTRY_BYTES + size * SAMPLE_BYTES;
    this.extend(key, e, buf, count);
    this.evict();
    return e;
  }

  /** Whether a closed chunk of `count` samples is cached (no recency update). */
  has(key: CacheKey, count: number): boolean {
    const e = this.entries.get(key);
    return e !== undefined && e.n === count;
  }

  /** The cached samples of a closed chunk of `count` samples, without its bytes (a block chunk not read yet). */
  peek(key: CacheKey, count: number): DecodedChunk | undefined {
    const e = this.entries.get(key);
    if (e === undefined || e.n !== count) return undefined;
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e;
  }

  private extend(key: CacheKey, e: DecodedChunk, buf: Uint8Array, count: number): void {
    if (count > e.t.length) {
      const size = Math.max(count, e.t.length * 2);
      const t = new Float64Array(size);
      const v = new Float64Array(size);
      t.set(e.t.subarray(0, e.n));
      v.set(e.v.subarray(0, e.n));
      this.bytes += (size - e.t.length) * SAMPLE_BYTES;
      e.t = t;
      e.v = v;
      if (e.stale) {
        const s = new Uint8Array(size);
        s.set(e.stale.subarray(0, e.n));
        e.stale = s;
      }
    }
    const flag = { sawStale: false };
    const stale = e.stale ?? scratch(e.t.length);
    const from = e.n;
    try {
      e.n = decodeFrom(e.state, buf, count, -Infinity, Infinity, e.t, e.v, stale, e.n, flag);
    } catch (err) {
      this.drop(key, e);
      throw err;
    }
    if (flag.sawStale && !e.stale) {
      // Samples before `from` had no marker: only the new part comes from the scratch flags.
      e.stale = new Uint8Array(e.t.length);
      e.stale.set(stale.subarray(from, e.n), from);
      this.bytes += e.t.length;
    }
  }

  private drop(key: CacheKey, e: DecodedChunk): void {
    this.entries.delete(key);
    this.bytes -= ENTRY_BYTES + e.t.length * SAMPLE_BYTES + (e.stale ? e.stale.length : 0);
  }

  private evict(): void {
    for (const [key, e] of this.entries) {
      if (this.bytes <= this.budgetBytes) break;
      this.drop(key, e);
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}

let staleScratch = new Uint8Array(256);

function scratch(n: number): Uint8Array {
  if (staleScratch.length < n) staleScratch = new Uint8Array(n);
  return staleScratch;
}
