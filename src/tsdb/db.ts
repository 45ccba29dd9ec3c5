import { mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { BlockSet, DEFAULT_BLOCK_WINDOW } from './blocks.js';
import { ChunkIterator } from './chunk.js';
import { ChunkEncoding } from './chunk-format.js';
import { decodeHistogramChunk } from './histogram-chunk.js';
import { HistogramHead } from './histogram-head.js';
import { DecodedChunkCache } from './decoded-cache.js';
import { Head } from './head.js';
import { replayWal, rotateWal } from './head-wal.js';
import { acquireLock } from './lock.js';
import type { TsdbMetrics } from './metrics.js';
import { StoreQuerier } from './query.js';
import { NO_CHUNKS, SeriesIndex, type MemSeries } from './series.js';
import type { Appender, Labels, Matcher, Querier, SelectHints, SeriesData, Storage, StorageStats } from './types.js';
import { Wal, type WalPosition } from './wal/wal.js';

export interface TsdbOptions {
  /** Data directory; created when missing. */
  dir: string;
  /** Blocks wholly older than the newest sample minus this are deleted (Prometheus' time retention). */
  retentionMs: number;
  /** Also delete the oldest blocks while blocks and WAL take more than this many bytes. 0 (default): no size bound. */
  retentionBytes?: number;
  logger?: Logger;
  /** 0 (default): every commit reaches the WAL file before it resolves. Otherwise commits are written every N ms. */
  walFlushIntervalMs?: number;
  /** Checkpoint (closed chunks to a block, WAL truncated) this often. Default 15 minutes. */
  checkpointIntervalMs?: number;
  /** Also checkpoint once the WAL grows past this many bytes. Default 64 MiB. */
  walCheckpointBytes?: number;
  /** Samples per chunk. Default 120. */
  chunkSize?: number;
  /** Merge the blocks of one window once there are this many, before the window is complete. Default 4. */
  compactionMinBlocks?: number;
  /** The smallest block window (chunks never cross its boundaries). Default 2 hours. */
  blockWindowMs?: number;
  /** Compaction gives the event loop back after this many ms of work. Default 5. */
  compactionSliceMs?: number;
  /**
   * Memory for decoded chunks kept between queries (least recently used go
   * first). Default 64 MiB: 4M samples, the recent hour of 10k series twice
   * over. 0 decodes on every query.
   */
  decodedCacheBytes?: number;
  /** New series beyond this many (in the head and blocks together) are refused. Default 2,000,000. */
  maxSeries?: number;
  /**
   * WAL only (agent mode): samples are logged and nothing else is kept; no
   * blocks, queries return nothing. Checkpoints delete WAL segments every
   * WAL reader has passed (see holdWal).
   */
  walOnly?: boolean;
}

const DAY = 24 * 3600_000;
export const DEFAULT_MAX_SERIES = 2_000_000;
/** A head chunk without new samples for this long is cut, so it goes to a block and leaves memory. */
const IDLE_CUT_MS = 3600_000;
/** Fewer chunks cut at once are left for the next timed checkpoint (see maybeCheckpoint). */
const MASS_CUT_MIN_CHUNKS = 10_000;

/**
 * The embedded store: a thin layer over the head (recent samples in memory,
 * logged to the WAL) and the blocks (older data on disk, read on demand),
 * which share one series index.
 *
 * Data directory layout:
 *   LOCK                  pid of the owning process
 *   wal/NNNNNNNN          WAL segments (labels, samples, checkpoint snapshots of head chunks)
 *   blocks/NNNNNNNN.vtb   block files (block/format.ts), written by checkpoints, merged by compaction
 *   *.corrupt             damaged files set aside (their intact chunks were copied out)
 */
export class Tsdb implements Storage {
  readonly dir: string;
  private readonly logger: Logger;
  private readonly retentionMs: number;
  private readonly retentionBytes: number;
  private readonly walFlushIntervalMs: number;
  private readonly walCheckpointBytes: number;
  private readonly checkpointIntervalMs: number;
  private readonly walOnly: boolean;
  readonly index = new SeriesIndex();
  readonly blocks: BlockSet;
  private readonly head: Head;
  private readonly wal: Wal;
  /** Decoded chunks kept between queries. */
  readonly decoded: DecodedChunkCache;
  private readonly q: StoreQuerier;
  private closed = false;
  private checkpointQueued = false;
  private compacting: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private releaseLock: () => void = () => {};
  private _metrics?: TsdbMetrics;

  constructor(opts: TsdbOptions) {
    if (!(opts.retentionMs > 0)) throw new Error(`tsdb retention must be positive, got ${opts.retentionMs}`);
    this.dir = opts.dir;
    this.logger = opts.logger ?? silentLogger();
    this.retentionMs = opts.retentionMs;
    this.retentionBytes = opts.retentionBytes ?? 0;
    this.walFlushIntervalMs = opts.walFlushIntervalMs ?? 0;
    this.walCheckpointBytes = opts.walCheckpointBytes ?? 64 * 1024 * 1024;
    this.checkpointIntervalMs = opts.checkpointIntervalMs ?? 15 * 60_000;
    this.walOnly = opts.walOnly ?? false;
    const chunkSize = opts.chunkSize ?? 120;
    const window = opts.blockWindowMs ?? DEFAULT_BLOCK_WINDOW;
    this.decoded = new DecodedChunkCache(opts.decodedCacheBytes ?? 64 * 1024 * 1024);
    this.blocks = new BlockSet(
      {
        dir: join(opts.dir, 'blocks'),
        logger: this.logger,
        window,
        // The longest time a merged block may span: a tenth of the retention (as Prometheus), at most 31 days.
        maxSpan: Math.max(window, Math.min(this.retentionMs / 10, 31 * DAY)),
        minBlocks: Math.max(2, opts.compactionMinBlocks ?? 4),
        sliceMs: opts.compactionSliceMs ?? 5,
      },
      this.index,
    );
    this.wal = new Wal(join(opts.dir, 'wal'));
    this.head = new Head(this.index, this.wal, {
      chunkSize,
      cutEvery: window,
      bufferedWal: this.walFlushIntervalMs > 0,
      maxSeries: opts.maxSeries ?? DEFAULT_MAX_SERIES,
      walOnly: this.walOnly,
    });
    this.head.loadLast = (s) => this.loadLast(s);
    this.head.onCommitted = () => this.maybeCheckpoint();
    this.q = new StoreQuerier(this.index, this.blocks, this.decoded, chunkSize);
  }

  get metrics(): TsdbMetrics | undefined {
    return this._metrics;
  }

  set metrics(m: TsdbMetrics | undefined) {
    this._metrics = m;
    this.head.metrics = m;
    this.blocks.metrics = m;
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  // ---------------------------------------------------------------- opening

  /** Opens blocks (their index only) and replays the WAL. Damaged files are logged and skipped. */
  load(): void {
    mkdirSync(this.wal.dir, { recursive: true });
    mkdirSync(join(this.dir, 'blocks'), { recursive: true });
    this.releaseLock = acquireLock(this.dir);
    const started = performance.now();
    try {
      for (const f of readdirSync(this.wal.dir)) if (f.endsWith('.tmp')) unlinkSync(join(this.wal.dir, f));
      if (!this.walOnly) this.blocks.load();
      for (const b of this.blocks.blocks) if (b.summary.maxT > this.head.maxTime) this.head.maxTime = b.summary.maxT;
      const lastSeq = replayWal(this.head, this.logger);
      this.wal.startSegment(lastSeq + 1);
      this.applyRetention();
      this.logger.info(
        { ms: Math.round(performance.now() - started), blocks: this.blocks.blocks.length, series: this.index.size, headChunks: this.headChunks() },
        'tsdb: opened',
      );
    } catch (err) {
      this.blocks.close();
      this.releaseLock();
      throw err;
    }
    if (this.checkpointIntervalMs > 0) this.every(this.checkpointIntervalMs, () => void this.backgroundCheckpoint());
    if (this.walFlushIntervalMs > 0) this.every(this.walFlushIntervalMs, () => this.safeFlush());
  }

  /** Reads the newest sample of a series whose last time came from a block index. */
  private loadLast(s: MemSeries): void {
    s.lastFromBlock = false;
    s.lastV = NaN;
    s.lastStale = false;
    const locs = this.blocks.locsOf(s);
    let best = locs[0];
    if (!best) return;
    for (const l of locs) if (l.block.seriesMaxT[l.idx] > best.block.seriesMaxT[best.idx]) best = l;
    const metas = this.blocks.metasOf(best);
    if (!metas || metas.length === 0) return;
    const m = metas[metas.length - 1];
    const [c] = this.blocks.readChunks(best, m.minT, m.maxT, undefined, [m]);
    if (!c) return;
    if (c.data.encoding === ChunkEncoding.FloatHistogram) {
      const { t, points } = decodeHistogramChunk(c.data.bytes);
      const i = t.lastIndexOf(s.lastT);
      if (i < 0) return;
      const p = points[i];
      s.lastStale = p === 'stale';
      // Later histograms and their markers go on in histogram chunks.
      const hh = (s.hist ??= new HistogramHead());
      for (let k = i; k >= 0; k--) {
        const q = points[k];
        if (q !== 'stale') {
          hh.last = q;
          break;
        }
      }
      return;
    }
    const it = new ChunkIterator(c.data.bytes, c.data.count);
    while (it.next()) {
      if (it.t === s.lastT) {
        s.lastV = it.v;
        s.lastStale = it.stale;
      }
    }
  }

  // ---------------------------------------------------------------- writing

  appender(): Appender {
    return this.head.appender();
  }

  /**
   * Checkpoints once the WAL is large, or once a mass cut closed the chunks
   * of half the series (a scraped target's chunks fill in step, every 30
   * minutes at 15 s): their closed chunks then leave memory at once instead
   * of waiting up to a checkpoint interval (100k series: about 40 MB), and
   * the snapshot of open chunks is at its smallest.
   */
  private maybeCheckpoint(): void {
    const massCut = this.head.cuts >= MASS_CUT_MIN_CHUNKS && this.head.cuts * 2 >= this.index.size;
    if (!this.checkpointQueued && (massCut || this.wal.size() > this.walCheckpointBytes)) {
      this.checkpointQueued = true;
      setImmediate(() => {
        this.checkpointQueued = false;
        void this.backgroundCheckpoint();
      });
    }
  }

  private safeFlush(): void {
    try {
      this.wal.flush();
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'tsdb: WAL flush failed');
    }
  }

  /** A checkpoint whose compaction runs in slices, not blocking the event loop (what the timer runs). */
  async backgroundCheckpoint(): Promise<void> {
    if (this.closed) return;
    try {
      this.checkpointHead();
    } catch (err) {
      this.metrics?.checkpointFailures.inc();
      this.logger.error({ err: (err as Error).message }, 'tsdb: checkpoint failed; the WAL keeps the data');
      return;
    }
    if (this.compacting || this.walOnly) return;
    this.compacting = this.blocks
      .compactInSlices(this.head.maxTime, () => this.cutoff(), () => this.closed)
      .catch((err: Error) => this.logger.error({ err: err.message }, 'tsdb: compaction failed; its inputs are kept'))
      .finally(() => (this.compacting = undefined));
    await this.compacting;
  }

  /**
   * Applies retention, writes closed head chunks to blocks, merges blocks,
   * and starts a new WAL segment with a snapshot of the open chunks, deleting
   * older segments no WAL reader holds. Synchronous, compaction included
   * (unless a background one is running).
   */
  checkpoint(): void {
    this.checkpointHead();
    if (!this.compacting && !this.walOnly) this.blocks.compactNow(this.head.maxTime, this.cutoff());
  }

  private checkpointHead(): void {
    if (this.closed) throw new Error('tsdb is closed');
    this.wal.flush();
    this.applyRetention();
    if (!this.walOnly) this.persistHead();
    this.head.cuts = 0;
    rotateWal(this.head);
    this.metrics?.checkpoints.inc();
  }

  private persistHead(): void {
    const idleBefore = this.head.maxTime - IDLE_CUT_MS;
    const withChunks: MemSeries[] = [];
    for (const s of this.index.byRef.values()) {
      if (s.head && s.head.count && s.head.maxT < idleBefore) s.cutHead();
      if (s.hist && s.hist.count && s.hist.maxT < idleBefore) s.cutHist();
      if (s.chunks.length) withChunks.push(s);
    }
    if (withChunks.length === 0) return;
    this.blocks.persist(withChunks);
    // On disk now: the bytes leave the heap (the decoded cache ages them out).
    for (const s of withChunks) s.chunks = NO_CHUNKS;
  }

  private cutoff(): number {
    return Number.isFinite(this.head.maxTime) ? this.head.maxTime - this.retentionMs : -Infinity;
  }

  private applyRetention(): void {
    const cutoff = this.cutoff();
    if (Number.isFinite(cutoff)) {
      for (const s of this.index.byRef.values()) {
        let drop = 0;
        while (drop < s.chunks.length && s.chunks[drop].maxT < cutoff) drop++;
        if (drop) s.chunks.splice(0, drop);
        if (s.head && s.head.count && s.head.maxT < cutoff) {
          s.head.release();
          s.head = null;
        }
        if (s.hist && s.hist.count && s.hist.maxT < cutoff) s.hist.clear();
      }
    }
    this.blocks.applyRetention(cutoff, this.retentionBytes, this.wal.size());
    const dead: MemSeries[] = [];
    for (const s of this.index.byRef.values()) {
      if (s.blockCount > 0 || s.hasHeadData()) continue;
      if (this.walOnly && s.lastT >= cutoff) continue;
      dead.push(s);
    }
    this.index.remove(dead);
  }

  // ---------------------------------------------------------------- WAL readers (see wal/reader.ts)

  /** The WAL directory, for a WalReader. */
  get walDir(): string {
    return this.wal.dir;
  }

  /** Keeps WAL segments numbered `segment` and later from deletion until moved on or released. */
  holdWal(consumer: string, segment: number): void {
    this.wal.hold(consumer, segment);
  }

  releaseWal(consumer: string): void {
    this.wal.release(consumer);
  }

  /** Calls `fn` whenever records reach the WAL files (after each commit, or each flush when buffered). Returns the unsubscribe function. */
  onWalWrite(fn: () => void): () => void {
    return this.wal.onWrite(fn);
  }

  /** The end of the WAL as written now. */
  walPosition(): WalPosition {
    return this.wal.position();
  }

  // ---------------------------------------------------------------- reading

  querier(): Querier {
    return this.q;
  }

  select(matchers: readonly Matcher[], mint: number, maxt: number, hints?: SelectHints): SeriesData[] {
    return this.q.select(matchers, mint, maxt, hints);
  }

  // ---------------------------------------------------------------- status

  stats(): StorageStats {
    let minTime = this.blocks.minTime();
    for (const s of this.index.byRef.values()) {
      const m = s.headMinTime();
      if (m < minTime) minTime = m;
    }
    const maxTime = this.head.maxTime;
    return { series: this.index.size, samples: this.sampleCount(), bytes: this.diskBytes(), minTime, maxTime };
  }

  storedLabels(labels: Labels): Labels | undefined {
    return this.index.find(labels)?.labels;
  }

  seriesCount(): number {
    return this.index.size;
  }

  // The status readers below run once per self-scrape over every series:
  // forEach, unlike for-of in code that never gets optimized, allocates no
  // iterator result per series (11 MB of garbage per scrape at 100k series).

  sampleCount(): number {
    let n = this.blocks.samples();
    this.index.byRef.forEach((s) => (n += s.headSamples()));
    return n;
  }

  blockBytes(): number {
    return this.blocks.bytes();
  }

  walBytes(): number {
    return this.closed ? 0 : this.wal.size();
  }

  diskBytes(): number {
    return this.blockBytes() + this.walBytes();
  }

  /** In-memory compressed sample data: closed head chunks not yet in a block plus open chunks. */
  chunkBytes(): number {
    let n = 0;
    this.index.byRef.forEach((s) => {
      const chunks = s.chunks;
      for (let i = 0; i < chunks.length; i++) n += chunks[i].bytes.length;
      if (s.head) n += s.head.byteLength();
      if (s.hist) n += s.hist.byteLength();
    });
    return n;
  }

  /** Compressed bytes (chunk records on disk plus head chunks) and sample count of the series matching `matchers`. */
  chunkBytesOf(matchers: readonly Matcher[]): { bytes: number; samples: number } {
    let bytes = 0;
    let samples = 0;
    for (const s of this.index.select(matchers)) {
      for (const loc of this.blocks.locsOf(s)) {
        for (const m of this.blocks.metasOf(loc) ?? []) {
          bytes += m.length;
          samples += m.count;
        }
      }
      for (const c of s.chunks) bytes += c.bytes.length;
      if (s.head) bytes += s.head.byteLength();
      if (s.hist) bytes += s.hist.byteLength();
      samples += s.headSamples();
    }
    return { bytes, samples };
  }

  headChunks(): number {
    let n = 0;
    this.index.byRef.forEach((s) => {
      if ((s.head && s.head.count) || (s.hist && s.hist.count)) n++;
    });
    return n;
  }

  blockCount(): number {
    return this.blocks.blocks.length;
  }

  /** Damaged chunks met since start. */
  damagedChunks(): number {
    return this.blocks.damagedChunks;
  }

  /** Flushes and checkpoints so the next start replays almost nothing, then releases the directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const t of this.timers) clearInterval(t);
    try {
      this.checkpointHead();
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'tsdb: final checkpoint failed; the WAL keeps the data');
    }
    this.closed = true;
    this.head.closed = true;
    await this.compacting;
    this.decoded.clear();
    try {
      this.wal.close();
    } finally {
      this.blocks.close();
      this.metrics?.unregister();
      this.releaseLock();
    }
  }
}
