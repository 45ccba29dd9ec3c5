import type { BlockSet } from './blocks.js';
import type { ChunkMeta } from './block/format.js';
import { decodeRange, staleBuffer } from './chunk.js';
import type { CacheKey, DecodedChunk, DecodedChunkCache } from './decoded-cache.js';
import type { BlockLoc, MemSeries, SeriesIndex } from './series.js';
import type { Labels, Matcher, Querier, SelectHints, SeriesData } from './types.js';
import type { ChunkData } from './block/format.js';
import { ChunkEncoding } from './chunk-format.js';
import { decodeHistogramChunk, type HistogramPoint } from './histogram-chunk.js';
import type { FloatHistogram } from '../model/histogram.js';

/** Regions of chunk metas read whole, when a query touches more than this many series of a block. */
const REGION_THRESHOLD = 32;

interface Source {
  key: CacheKey;
  count: number;
  minT: number;
  maxT: number;
  /** Head chunks: their bytes (and room to grow, for the open one). */
  bytes?: Uint8Array;
  capacity?: number;
  /** Block chunks: read when the cache does not have them. */
  loc?: BlockLoc;
  meta?: ChunkMeta;
  /** Head chunks: their encoding, when not float. */
  encoding?: number;
  /** The open histogram chunk: its samples. */
  hist?: { t: readonly number[]; points: readonly HistogramPoint[] };
}

/**
 * Reads across blocks and head. A series' chunks come from its blocks (read
 * from the files, only those overlapping the range), then its head chunks;
 * decoded chunks are kept in the bounded cache.
 */
export class StoreQuerier implements Querier {
  constructor(
    private readonly index: SeriesIndex,
    private readonly blocks: BlockSet,
    private readonly cache: DecodedChunkCache,
    private readonly chunkSize: number,
  ) {}

  select(matchers: readonly Matcher[], mint: number, maxt: number, hints?: SelectHints): SeriesData[] {
    return this.selectSeries(this.index.select(matchers), mint, maxt, hints && hints.step > hints.range ? new Windows(mint, hints) : undefined);
  }

  series(matchers: readonly Matcher[], mint: number, maxt: number): Labels[] {
    return this.matching(matchers, mint, maxt).map((s) => s.labels);
  }

  labelNames(matchers: readonly Matcher[], mint: number, maxt: number): string[] {
    const names = new Set<string>();
    for (const s of this.matching(matchers, mint, maxt)) for (const n in s.labels) names.add(n);
    return [...names].sort();
  }

  labelValues(name: string, matchers: readonly Matcher[], mint: number, maxt: number): string[] {
    const values = new Set<string>();
    for (const s of this.matching([...matchers, { type: '!=', name, value: '' }], mint, maxt)) values.add(s.labels[name]);
    return [...values].sort();
  }

  private matching(matchers: readonly Matcher[], mint: number, maxt: number): MemSeries[] {
    return this.index.select(matchers).filter((s) => this.hasSampleIn(s, mint, maxt));
  }

  /** Whether the series has a sample in [mint, maxt]; decodes only when the range falls strictly inside a chunk. */
  private hasSampleIn(s: MemSeries, mint: number, maxt: number): boolean {
    let inside = false;
    const edge = (minT: number, maxT: number): boolean => {
      if (minT > maxt || maxT < mint) return false;
      if (minT >= mint || maxT <= maxt) return true;
      inside = true;
      return false;
    };
    for (const loc of this.blocks.locsOf(s, mint, maxt)) if (edge(loc.block.seriesMinT[loc.idx], loc.block.seriesMaxT[loc.idx])) return true;
    for (const c of s.chunks) if (edge(c.minT, c.maxT)) return true;
    if (s.head && s.head.count && edge(s.head.minT, s.head.maxT)) return true;
    if (s.hist && s.hist.count && edge(s.hist.minT, s.hist.maxT)) return true;
    return inside && this.selectSeries([s], mint, maxt).length > 0;
  }

  selectSeries(picked: readonly MemSeries[], mint: number, maxt: number, windows?: Windows): SeriesData[] {
    const locs = picked.map((s) => this.blocks.locsOf(s, mint, maxt));
    const regions = this.metaRegions(locs);
    // Two passes: size every series' chunks in range first, so all samples go
    // into one pair of arrays (views per series); thousands of small typed
    // arrays, each with its own buffer, cost more than decoding them.
    const lists: Source[][] = [];
    const chosen: MemSeries[] = [];
    let total = 0;
    for (let i = 0; i < picked.length; i++) {
      const s = picked[i];
      const srcs = this.sources(s, locs[i], mint, maxt, regions, windows);
      if (srcs.length === 0) continue;
      for (const x of srcs) total += x.count;
      lists.push(srcs);
      chosen.push(s);
    }
    const out: SeriesData[] = [];
    if (total === 0) return out;
    const ts = new Float64Array(total);
    const vs = new Float64Array(total);
    const stale = staleBuffer(total);
    const flag = { sawStale: false };
    let at = 0;
    const cache = this.cache;
    for (let k = 0; k < chosen.length; k++) {
      const srcs = lists[k];
      const from = at;
      flag.sawStale = false;
      const bytes = this.readMissing(srcs);
      let hs: Array<FloatHistogram | undefined> | undefined;
      for (const x of srcs) {
        let d: DecodedChunk | undefined;
        let buf = x.bytes;
        if (x.hist !== undefined || x.encoding === ChunkEncoding.FloatHistogram) {
          at = copyHistograms(x.hist ?? buf!, mint, maxt, ts, vs, stale, at, flag, (hs ??= []), from);
          continue;
        }
        if (x.loc) {
          d = cache.peek(x.key, x.count);
          if (!d) {
            // Read afresh when the cache dropped it while this series was decoded.
            const data: ChunkData | undefined = bytes.get(x.key as string) ?? this.blocks.readChunks(x.loc, -Infinity, Infinity, undefined, [x.meta!])[0]?.data;
            if (!data) continue; // damaged: reported by the block set
            buf = data.bytes;
            if (data.encoding === ChunkEncoding.FloatHistogram) {
              // Histogram chunks are decoded per query, not cached (nor thinned to windows).
              at = copyHistograms(buf, mint, maxt, ts, vs, stale, at, flag, (hs ??= []), from);
              continue;
            }
            // A windowed read (steps far apart, usually over a long range) decodes
            // in place: its chunks are unlikely to be read again soon, and would
            // push out the recent ones rules and dashboards keep reading.
            if (!windows) d = cache.get(x.key, buf, x.count, x.count);
          }
        } else d = cache.get(x.key, buf!, x.count, x.capacity ?? x.count);
        const first = at;
        try {
          at = d ? copyRange(d, mint, maxt, ts, vs, stale, at, flag) : decodeRange(buf!, x.count, mint, maxt, ts, vs, stale, at, flag);
        } catch {
          // Undecodable despite an intact checksum: skip the chunk rather than fail the query.
        }
        if (windows) at = windows.keep(ts, vs, stale, first, at);
      }
      if (at === from) continue;
      const series: SeriesData = {
        labels: chosen[k].labels,
        t: ts.subarray(from, at),
        v: vs.subarray(from, at),
        stale: flag.sawStale ? stale.slice(from, at) : undefined,
      };
      out.push(hs === undefined ? series : { ...series, h: padded(hs, at - from) });
    }
    return out;
  }

  /** Chunk-meta regions of blocks many picked series are read from. */
  private metaRegions(locs: ReadonlyArray<readonly BlockLoc[]>): Map<object, Uint8Array> {
    const counts = new Map<object, number>();
    for (const list of locs) for (const loc of list) counts.set(loc.block, (counts.get(loc.block) ?? 0) + 1);
    const regions = new Map<object, Uint8Array>();
    for (const [b, n] of counts) if (n > REGION_THRESHOLD) regions.set(b, (b as BlockLoc['block']).readAllMetas());
    return regions;
  }

  private sources(s: MemSeries, locs: readonly BlockLoc[], mint: number, maxt: number, regions: Map<object, Uint8Array>, windows?: Windows): Source[] {
    const out: Source[] = [];
    let lastMax = -Infinity;
    const push = (x: Source) => {
      // Overlaps cannot come from normal operation; drop them rather than return samples twice.
      if (x.minT <= lastMax) return;
      lastMax = x.maxT;
      if (windows && !windows.overlaps(x.minT, x.maxT)) return;
      out.push(x);
    };
    for (const loc of locs) {
      const b = loc.block;
      const metas = this.blocks.metasOf(loc, regions.get(b));
      if (!metas) continue;
      for (const m of metas) {
        if (m.maxT < mint || m.minT > maxt) continue;
        push({ key: `${b.seq}:${m.offset}`, count: m.count, minT: m.minT, maxT: m.maxT, loc, meta: m });
      }
    }
    for (const c of s.chunks) {
      if (c.maxT >= mint && c.minT <= maxt) push({ key: c, count: c.count, minT: c.minT, maxT: c.maxT, bytes: c.bytes, encoding: c.encoding });
    }
    const h = s.head;
    if (h !== null && h.count > 0 && h.minT <= maxt && h.maxT >= mint) {
      push({ key: h, count: h.count, minT: h.minT, maxT: h.maxT, bytes: h.w.buf, capacity: this.chunkSize });
    }
    const hh = s.hist;
    if (hh !== undefined && hh.count > 0 && hh.minT <= maxt && hh.maxT >= mint) push({ key: hh, count: hh.count, minT: hh.minT, maxT: hh.maxT, hist: hh });
    return out;
  }

  /** Reads the block chunks of `srcs` the cache lacks, one read per run in a block. */
  private readMissing(srcs: Source[]): Map<string, ChunkData> {
    const out = new Map<string, ChunkData>();
    let i = 0;
    while (i < srcs.length) {
      const loc = srcs[i].loc;
      if (!loc) {
        i++;
        continue;
      }
      const metas: ChunkMeta[] = [];
      for (; i < srcs.length && srcs[i].loc === loc; i++) {
        if (!this.cache.has(srcs[i].key, srcs[i].count)) metas.push(srcs[i].meta!);
      }
      if (metas.length === 0) continue;
      for (const c of this.blocks.readChunks(loc, -Infinity, Infinity, undefined, metas)) out.set(`${loc.block.seq}:${c.meta.offset}`, c.data);
    }
    return out;
  }
}

/**
 * The windows a select's hints name, [mint + k·step, mint + k·step + range - 1]
 * for k >= 0 (step > range: there are gaps between them).
 */
export class Windows {
  private readonly mint: number;
  private readonly step: number;
  private readonly range: number;

  constructor(mint: number, hints: SelectHints) {
    this.mint = mint;
    this.step = hints.step;
    this.range = hints.range;
  }

  /** Whether [minT, maxT] meets a window. */
  overlaps(minT: number, maxT: number): boolean {
    if (maxT < this.mint) return false;
    const from = Math.max(minT, this.mint);
    const off = (from - this.mint) % this.step;
    return off < this.range || from + (this.step - off) <= maxT;
  }

  /** Compacts samples [from, to) of the arrays to those inside a window; returns the new end. */
  keep(ts: Float64Array, vs: Float64Array, stale: Uint8Array, from: number, to: number): number {
    const { mint, step, range } = this;
    let w = from;
    for (let i = from; i < to; i++) {
      const t = ts[i];
      if ((t - mint) % step >= range) continue;
      if (w !== i) {
        ts[w] = t;
        vs[w] = vs[i];
        stale[w] = stale[i];
      }
      w++;
    }
    return w;
  }
}

/** Copies the cached samples with mint <= t <= maxt, as decodeRange would write them. */
function copyRange(
  d: DecodedChunk,
  mint: number,
  maxt: number,
  ts: Float64Array,
  vs: Float64Array,
  stale: Uint8Array,
  at: number,
  flag: { sawStale: boolean },
): number {
  const t = d.t;
  let lo = 0;
  let hi = d.n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid] < mint) lo = mid + 1;
    else hi = mid;
  }
  const start = lo;
  hi = d.n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid] <= maxt) lo = mid + 1;
    else hi = mid;
  }
  const end = lo;
  if (end <= start) return at;
  ts.set(t.subarray(start, end), at);
  vs.set(d.v.subarray(start, end), at);
  if (d.stale) {
    const s = d.stale.subarray(start, end);
    stale.set(s, at);
    if (!flag.sawStale && s.includes(1)) flag.sawStale = true;
  } else stale.fill(0, at, at + end - start);
  return at + end - start;
}

/**
 * Writes the histogram samples (of an encoded chunk, or the open one) with
 * mint <= t <= maxt as decodeRange writes floats (value NaN; markers flagged
 * stale), each histogram into `hs` at its index relative to the series' first
 * sample `from`. Kept out of selectSeries, whose float loop is the hot path.
 */
function copyHistograms(
  src: Uint8Array | { t: readonly number[]; points: readonly HistogramPoint[] },
  mint: number,
  maxt: number,
  ts: Float64Array,
  vs: Float64Array,
  stale: Uint8Array,
  at: number,
  flag: { sawStale: boolean },
  hs: Array<FloatHistogram | undefined>,
  from: number,
): number {
  let t: readonly number[];
  let points: readonly HistogramPoint[];
  if (src instanceof Uint8Array) {
    try {
      ({ t, points } = decodeHistogramChunk(src));
    } catch {
      // Undecodable despite an intact checksum: skipped like a damaged float chunk.
      return at;
    }
  } else ({ t, points } = src);
  for (let i = 0; i < t.length; i++) {
    if (t[i] < mint) continue;
    if (t[i] > maxt) break;
    const p = points[i];
    ts[at] = t[i];
    vs[at] = NaN;
    if (p === 'stale') {
      stale[at] = 1;
      flag.sawStale = true;
    } else {
      stale[at] = 0;
      hs[at - from] = p;
    }
    at++;
  }
  return at;
}

/** `hs` as long as the series' samples (float samples' entries undefined). */
function padded(hs: Array<FloatHistogram | undefined>, n: number): Array<FloatHistogram | undefined> {
  if (hs.length < n) hs.length = n;
  return hs;
}
