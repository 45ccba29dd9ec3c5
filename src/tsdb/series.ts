import { ChunkAppender, ChunkIterator } from './chunk.js';
import type { BlockReader } from './block/format.js';
import { ChunkEncoding } from './chunk-format.js';
import type { HistogramPoint } from './histogram-chunk.js';
import { fullHistogramHead, HistogramHead } from './histogram-head.js';
import { PostingsIndex } from './postings.js';
import { labelsHash } from '../model/labels.js';
import { flatString } from '../util/flat-string.js';
import { SeriesTable } from '../util/series-table.js';
import type { Labels, Matcher } from './types.js';

/** A closed head chunk not yet written to a block. */
export interface ClosedChunk {
  readonly bytes: Uint8Array;
  readonly count: number;
  readonly minT: number;
  readonly maxT: number;
  /** ChunkEncoding; absent for float chunks. */
  readonly encoding?: number;
}

/** Where a series has chunks in a block: the block and the series' index there. */
export interface BlockLoc {
  readonly block: BlockReader;
  readonly idx: number;
}

/**
 * The closed chunks of every series that has none: most series most of the
 * time, and an empty array each would cost a 100k-series head 3 MB. Frozen, so
 * a stray push fails loudly instead of giving chunks to every series.
 */
export const NO_CHUNKS = Object.freeze([]) as unknown as ClosedChunk[];

const LAST_STALE = 1;
const LAST_FROM_BLOCK = 2;
const DEAD = 4;

/**
 * One series: its labels, where it has data on disk (blocks), and its head
 * part in memory: closed chunks waiting for the next block write plus the
 * open chunk. Blocks map series refs to their own entries (BlockReader.refs),
 * so a series costs nothing per block it is in. Head data leaves memory once it is in a block.
 */
export class MemSeries {
  ref = 0;
  /** Closed chunks not yet in a block, in time order. */
  chunks: ClosedChunk[] = NO_CHUNKS;
  head: ChunkAppender | null = null;
  /** How many blocks hold chunks of this series (BlockSet.locsOf finds them). */
  blockCount = 0;
  lastT = -Infinity;
  lastV = 0;
  /**
   * lastStale, lastFromBlock and dead as bits of one small integer: a boolean
   * field is a pointer-sized slot of its own, in every head series.
   */
  private flags = 0;
  /** WAL generation whose segment holds this series' labels record. */
  walGen = -1;
  /** The appender holding this series' latest uncommitted sample, and that sample's index there. */
  pendingOwner: object | undefined = undefined;
  pendingIdx = 0;
  /** The native histogram part (open histogram chunk, latest histogram); only on series that had histograms. */
  hist: HistogramHead | undefined = undefined;

  constructor(readonly labels: Labels) {}

  get lastStale(): boolean {
    return (this.flags & LAST_STALE) !== 0;
  }
  set lastStale(on: boolean) {
    this.flags = on ? this.flags | LAST_STALE : this.flags & ~LAST_STALE;
  }

  /** lastT came from a block's index; lastV/lastStale must be read from the block before comparing. */
  get lastFromBlock(): boolean {
    return (this.flags & LAST_FROM_BLOCK) !== 0;
  }
  set lastFromBlock(on: boolean) {
    this.flags = on ? this.flags | LAST_FROM_BLOCK : this.flags & ~LAST_FROM_BLOCK;
  }

  /** Removed by retention. */
  get dead(): boolean {
    return (this.flags & DEAD) !== 0;
  }
  set dead(on: boolean) {
    this.flags = on ? this.flags | DEAD : this.flags & ~DEAD;
  }

  /**
   * Appends a sample already checked to be newer than `lastT`. The open chunk
   * is cut when full or when the sample crosses a `cutEvery`-aligned boundary,
   * so every chunk lies within one block window.
   */
  append(t: number, v: number, stale: boolean, chunkSize: number, cutEvery: number): void {
    if (this.hist !== undefined) {
      // A float sample after histograms: the chunk kind changes.
      if (this.hist.count) this.cutHist();
      if (!stale) this.hist.last = undefined;
    }
    const h = this.head;
    if (h && (h.count >= chunkSize || Math.floor(t / cutEvery) !== Math.floor(h.minT / cutEvery))) this.cutHead();
    if (!this.head) this.head = new ChunkAppender();
    this.head.append(t, v, stale);
    this.lastT = t;
    this.lastV = v;
    this.lastStale = stale;
    this.lastFromBlock = false;
  }

  /**
   * Appends a native histogram sample (or a marker ending a histogram series),
   * already checked to be newer than `lastT`. Histograms go to histogram
   * chunks; a float chunk open before is cut, so chunks never overlap.
   */
  appendHistogram(t: number, p: HistogramPoint, chunkSize: number, cutEvery: number): void {
    if (this.head && this.head.count) this.cutHead();
    const hh = (this.hist ??= new HistogramHead());
    if (hh.count && (fullHistogramHead(hh, chunkSize) || Math.floor(t / cutEvery) !== Math.floor(hh.minT / cutEvery))) this.cutHist();
    hh.push(t, p);
    if (p !== 'stale') hh.last = p;
    this.lastT = t;
    this.lastV = NaN;
    this.lastStale = p === 'stale';
    this.lastFromBlock = false;
  }

  /** Closes the open histogram chunk (encoded into the closed chunks). */
  cutHist(): void {
    const hh = this.hist;
    if (!hh || hh.count === 0) return;
    this.addChunk({ bytes: hh.bytes(), count: hh.count, minT: hh.minT, maxT: hh.maxT, encoding: ChunkEncoding.FloatHistogram });
    hh.clear();
  }

  cutHead(): void {
    const h = this.head;
    this.head = null;
    if (!h) return;
    if (h.count > 0) this.addChunk({ bytes: h.bytes(), count: h.count, minT: h.minT, maxT: h.maxT });
    h.release();
  }

  private addChunk(c: ClosedChunk): void {
    if (this.chunks === NO_CHUNKS) this.chunks = [c];
    else this.chunks.push(c);
  }

  /** Sets `lastT`/`lastV` from the newest head sample. */
  refreshLast(): void {
    const h = this.head;
    const src = h && h.count ? { bytes: h.w.bytes(), count: h.count } : this.chunks[this.chunks.length - 1];
    if (!src || ('encoding' in src && src.encoding === ChunkEncoding.FloatHistogram)) return;
    const it = new ChunkIterator(src.bytes, src.count);
    while (it.next()) {
      this.lastT = it.t;
      this.lastV = it.v;
      this.lastStale = it.stale;
    }
    this.lastFromBlock = false;
  }

  headSamples(): number {
    let n = this.head ? this.head.count : 0;
    if (this.hist) n += this.hist.count;
    const chunks = this.chunks;
    for (let i = 0; i < chunks.length; i++) n += chunks[i].count;
    return n;
  }

  hasHeadData(): boolean {
    return this.chunks.length > 0 || (this.head !== null && this.head.count > 0) || (this.hist !== undefined && this.hist.count > 0);
  }

  /** The oldest head sample's time. */
  headMinTime(): number {
    let m = Infinity;
    if (this.chunks.length && this.chunks[0].minT < m) m = this.chunks[0].minT;
    if (this.head && this.head.count && this.head.minT < m) m = this.head.minT;
    if (this.hist && this.hist.count && this.hist.minT < m) m = this.hist.minT;
    return m;
  }
}

/**
 * Every series the store knows (in the head or in a block), by labels and by
 * ref, with the postings index over them. Blocks and head share it, so a
 * series has one identity and queries need no merge by labels.
 */
export class SeriesIndex {
  /**
   * Series by labelsHash, equal hashes told apart by their labels: a string
   * key per series (about 150 bytes) would be kept only for this lookup.
   * It starts small and doubles as series arrive: a head of a thousand series
   * does not hold the 768 KB of a 64k-slot table from start-up.
   */
  private readonly byHash = new SeriesTable<MemSeries>();
  readonly byRef = new Map<number, MemSeries>();
  private readonly postings = new PostingsIndex();
  private nextRef = 1;
  /** Label values, one copy each (see intern). */
  private readonly values = new Map<string, string>();

  get size(): number {
    return this.byRef.size;
  }

  /** The registered series with these labels (labels with an empty value count as absent). */
  find(labels: Labels): MemSeries | undefined {
    const table = this.byHash;
    const h = labelsHash(labels);
    for (let k = table.first(h); k >= 0; k = table.next(k, h)) {
      const s = table.at(k);
      if (sameSeries(s.labels, labels)) return s;
    }
    return undefined;
  }

  /** The series for `labels` (already cleaned and frozen), created when new. */
  getOrCreate(labels: Labels): MemSeries {
    let s = this.find(labels);
    if (!s) {
      const own: Record<string, string> = {};
      for (const n in labels) own[n] = this.intern(labels[n]);
      s = new MemSeries(Object.freeze(own));
      this.register(s);
    }
    return s;
  }

  /**
   * The store's one copy of a label value. Series share most values (job,
   * instance, method, status...), and a value arriving from a parse or a
   * worker is a fresh string per series, or a slice that keeps its whole
   * payload alive; new values are copied flat once.
   */
  intern(value: string): string {
    let v = this.values.get(value);
    if (v === undefined) {
      v = value.length > 12 ? flatString(value) : value;
      this.values.set(v, v);
    }
    return v;
  }

  register(s: MemSeries): void {
    s.ref = this.nextRef++;
    this.byHash.add(labelsHash(s.labels), s);
    this.byRef.set(s.ref, s);
    this.postings.add(s.ref, s.labels);
  }

  private labelsOf = (ref: number): Labels => this.byRef.get(ref)!.labels;

  select(matchers: readonly Matcher[]): MemSeries[] {
    const out: MemSeries[] = [];
    for (const ref of this.postings.select(matchers, this.labelsOf)) out.push(this.byRef.get(ref)!);
    return out;
  }

  /** Forgets series with no data left. */
  remove(dead: readonly MemSeries[]): void {
    if (dead.length === 0) return;
    this.postings.remove(new Set(dead.map((s) => s.ref)), this.labelsOf);
    for (const s of dead) {
      s.dead = true;
      s.head?.release();
      s.head = null;
      this.byRef.delete(s.ref);
    }
    this.byHash.retain((s) => !s.dead);
    // Values only removed series had (churned pods, old versions) go too.
    this.values.clear();
    for (const s of this.byRef.values()) for (const n in s.labels) this.values.set(s.labels[n], s.labels[n]);
  }
}

/**
 * Series an appender created and the store has not registered yet, found by
 * labels as the index finds registered ones. A string key per new series
 * would be garbage once the commit registers them: 100k keys (some 40 MB with
 * their concatenation pieces) when a large target first appears, promoted to
 * the old generation because they live as long as the commit's first scrape.
 */
export class PendingSeries {
  /** Created with the first series: most appenders create none. */
  private table: SeriesTable<MemSeries> | undefined = undefined;
  readonly list: MemSeries[] = [];

  get size(): number {
    return this.list.length;
  }

  find(hash: number, labels: Labels): MemSeries | undefined {
    const table = this.table;
    if (table === undefined) return undefined;
    for (let k = table.first(hash); k >= 0; k = table.next(k, hash)) {
      const s = table.at(k);
      if (sameSeries(s.labels, labels)) return s;
    }
    return undefined;
  }

  add(hash: number, s: MemSeries): void {
    (this.table ??= new SeriesTable<MemSeries>(4)).add(hash, s);
    this.list.push(s);
  }
}

/** Whether two label sets name the same series: equal once labels with empty values are dropped. */
function sameSeries(a: Labels, b: Labels): boolean {
  let n = 0;
  for (const k in a) {
    const v = a[k];
    if (v === '') continue;
    if (b[k] !== v || !Object.hasOwn(b, k)) return false;
    n++;
  }
  for (const k in b) if (b[k] !== '') n--;
  return n === 0;
}

/**
 * labelsKey() of the labels without empty values, written for the append hot
 * path: no sort call for the few labels a series has, no intermediate objects.
 */
export function seriesKey(labels: Labels): string {
  const names = Object.keys(labels);
  for (let i = 1; i < names.length; i++) {
    const n = names[i];
    let j = i - 1;
    while (j >= 0 && names[j] > n) {
      names[j + 1] = names[j];
      j--;
    }
    names[j + 1] = n;
  }
  let key = '';
  for (let i = 0; i < names.length; i++) {
    const v = labels[names[i]];
    if (v !== '') key += `${names[i]}\xff${v}\xfe`;
  }
  return key;
}
