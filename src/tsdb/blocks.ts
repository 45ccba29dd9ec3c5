import { existsSync, readdirSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { BlockFormatError, BlockReader, BlockWriter, parseChunkRecord, scanBlock, type BlockSeriesEntry, type ChunkData, type ChunkMeta } from './block/format.js';
import { fsyncDir } from '../util/atomic-file.js';
import { listSequenced, seqName } from './files.js';
import type { TsdbMetrics } from './metrics.js';
import type { BlockLoc, MemSeries, SeriesIndex } from './series.js';
import type { Labels } from './types.js';

const HOUR = 3600_000;

export interface BlockSetOptions {
  dir: string;
  logger: Logger;
  /** The smallest block window; head chunks never span its boundaries. */
  window: number;
  /** The largest window compaction builds. */
  maxSpan: number;
  /** Blocks of one window are merged once there are this many, complete or not. */
  minBlocks: number;
  /** Compaction gives the event loop back after this many ms of work. */
  sliceMs: number;
}

/**
 * The blocks of the data directory: opening (index only), writing head chunks
 * out, compaction into larger time-aligned blocks, retention, and reading a
 * series' chunks for queries. Blocks' series register in the shared
 * SeriesIndex; each block maps the series refs to its own entries.
 */
export class BlockSet {
  blocks: BlockReader[] = [];
  private nextSeq = 1;
  /** Blocks an ongoing compaction reads: retention leaves them until it ends. */
  private readonly busy = new Set<BlockReader>();
  private readonly reportedDamage = new Set<string>();
  metrics?: TsdbMetrics;
  /** Damaged chunks found since start (also counted in the metric). */
  damagedChunks = 0;

  constructor(
    readonly opts: BlockSetOptions,
    private readonly index: SeriesIndex,
  ) {}

  // ------------------------------------------------------------ opening

  /** Opens every block; a block whose index is damaged is recovered by a scan into a new block and set aside. */
  load(readOnly = false): void {
    const dir = this.opts.dir;
    if (!readOnly) for (const f of readdirSync(dir)) if (f.endsWith('.tmp')) unlinkSync(join(dir, f));
    const files = listSequenced(dir, '.vtb');
    for (const { seq } of files) this.nextSeq = Math.max(this.nextSeq, seq + 1);
    const opened: BlockReader[] = [];
    for (const { seq, name } of files) {
      const b = this.openFile(join(dir, name), seq, readOnly);
      if (b) opened.push(b);
    }
    // A crash between writing a merged block and deleting its inputs leaves both: drop the inputs.
    const superseded = new Set<number>();
    for (const b of opened) for (const p of b.summary.parents) superseded.add(p);
    for (const b of opened) {
      if (superseded.has(b.seq)) {
        b.close();
        if (!readOnly) this.unlink(b.path);
        continue;
      }
      this.attach(b);
    }
  }

  private openFile(path: string, seq: number, readOnly: boolean): BlockReader | undefined {
    const entries: BlockSeriesEntry[] = [];
    try {
      const b = BlockReader.open(path, seq, (_idx, e) => entries.push(e));
      this.pendingEntries.set(b, entries);
      return b;
    } catch (err) {
      const problem = err instanceof BlockFormatError ? err.message : (err as Error).message;
      this.metrics?.blockCorruptions.inc();
      if (readOnly) {
        this.opts.logger.error({ file: path, problem }, 'tsdb: damaged block file skipped');
        return undefined;
      }
      const recovered = this.recover(path);
      this.opts.logger.error(
        { file: path, problem, chunksRecovered: recovered.chunks, samplesRecovered: recovered.samples },
        'tsdb: damaged block file; its intact chunks were copied into a new block and the file set aside as .corrupt',
      );
      try {
        renameSync(path, `${path}.corrupt`);
      } catch {
        // read-only directory: reported again next time
      }
      return recovered.block;
    }
  }

  private readonly pendingEntries = new Map<BlockReader, BlockSeriesEntry[]>();

  /** Registers a block's series in the index. */
  private attach(b: BlockReader, entries = this.pendingEntries.get(b) ?? []): void {
    this.pendingEntries.delete(b);
    for (let idx = 0; idx < entries.length; idx++) this.register(b, idx, this.index.getOrCreate(entries[idx].labels));
    this.add(b);
  }

  /** Registers a block this process just wrote: `series` are its series in the order written, already in the index. */
  private attachWritten(b: BlockReader, series: readonly MemSeries[]): void {
    if (series.length !== b.refs.length) throw new Error(`block ${b.path} holds ${b.refs.length} series, ${series.length} were written`);
    for (let idx = 0; idx < series.length; idx++) {
      const s = series[idx];
      // Retention may have dropped it while a background merge ran.
      this.register(b, idx, s.dead ? this.index.getOrCreate(s.labels) : s);
    }
    this.add(b);
  }

  private register(b: BlockReader, idx: number, s: MemSeries): void {
    b.refs[idx] = s.ref;
    s.blockCount++;
    const maxT = b.seriesMaxT[idx];
    if (maxT > s.lastT) {
      s.lastT = maxT;
      s.lastFromBlock = true;
    }
  }

  private add(b: BlockReader): void {
    b.indexRefs();
    this.blocks.push(b);
    this.blocks.sort((x, y) => x.summary.minT - y.summary.minT || x.seq - y.seq);
  }

  /** Where the series has chunks in blocks overlapping [mint, maxt], in time order. */
  locsOf(s: MemSeries, mint = -Infinity, maxt = Infinity): BlockLoc[] {
    const out: BlockLoc[] = [];
    if (s.blockCount === 0) return out;
    for (const b of this.blocks) {
      if (b.summary.maxT < mint || b.summary.minT > maxt) continue;
      const idx = b.idxOf(s.ref);
      if (idx >= 0 && b.seriesMaxT[idx] >= mint && b.seriesMinT[idx] <= maxt) out.push({ block: b, idx });
    }
    return out;
  }

  /** Copies the intact chunks of a block with a damaged index into a new block. */
  private recover(path: string): { block?: BlockReader; chunks: number; samples: number } {
    let chunks = 0;
    let samples = 0;
    const seq = this.nextSeq++;
    const name = seqName(seq, '.vtb');
    const tmp = join(this.opts.dir, `${name}.tmp`);
    const w = new BlockWriter(tmp);
    let cur: Labels | undefined;
    let buf: ChunkData[] = [];
    const flush = () => {
      if (cur && buf.length) {
        buf.sort((a, b) => a.minT - b.minT);
        w.addSeries(
          cur,
          buf.filter((c, i) => i === 0 || c.minT > buf[i - 1].maxT),
        );
      }
      buf = [];
    };
    try {
      scanBlock(
        path,
        (labels, c) => {
          if (labels !== cur) {
            flush();
            cur = labels;
          }
          buf.push(c);
          chunks++;
          samples += c.count;
        },
        () => {},
      );
      flush();
      if (chunks === 0) {
        w.abort();
        this.unlink(tmp);
        return { chunks, samples };
      }
      w.finish();
      renameSync(tmp, join(this.opts.dir, name));
      fsyncDir(this.opts.dir);
    } catch (err) {
      w.abort();
      this.unlink(tmp);
      this.opts.logger.error({ file: path, err: (err as Error).message }, 'tsdb: recovering a damaged block failed');
      return { chunks: 0, samples: 0 };
    }
    const entries: BlockSeriesEntry[] = [];
    const b = BlockReader.open(join(this.opts.dir, name), seq, (_i, e) => entries.push(e));
    this.pendingEntries.set(b, entries);
    return { block: b, chunks, samples };
  }

  // ------------------------------------------------------------ writing

  /**
   * Writes the closed head chunks of `series` to one new block per window
   * they fall in; returns the blocks written. No object per series: a
   * checkpoint after a whole target's chunks were cut together hands over
   * every series at once.
   */
  persist(series: readonly MemSeries[]): number {
    const window = this.opts.window;
    const byWindow = new Map<number, MemSeries[]>();
    for (const s of series) {
      let last = NaN;
      for (const c of s.chunks) {
        const win = Math.floor(c.minT / window);
        if (win === last) continue;
        last = win;
        let list = byWindow.get(win);
        if (!list) byWindow.set(win, (list = []));
        if (list[list.length - 1] !== s) list.push(s);
      }
    }
    for (const [win, list] of byWindow) {
      const b = this.writeBlock([], (add) => {
        for (const s of list) add(s, chunksIn(s.chunks, win, window));
      });
      if (b) this.attachWritten(b.block, b.series);
    }
    return byWindow.size;
  }

  /** Writes a block through a temporary file; returns it opened (not yet attached) with its series in order. */
  private writeBlock(
    parents: number[],
    fill: (add: (s: MemSeries, chunks: readonly ChunkData[]) => void) => void,
  ): { block: BlockReader; series: MemSeries[] } | undefined {
    const seq = this.nextSeq++;
    const name = seqName(seq, '.vtb');
    const tmp = join(this.opts.dir, `${name}.tmp`);
    const w = new BlockWriter(tmp, parents);
    const series: MemSeries[] = [];
    try {
      fill((s, chunks) => {
        if (w.addSeries(s.labels, chunks)) series.push(s);
      });
      if (w.summary.series === 0) {
        w.abort();
        this.unlink(tmp);
        return undefined;
      }
      w.finish();
      renameSync(tmp, join(this.opts.dir, name));
      fsyncDir(this.opts.dir);
    } catch (err) {
      w.abort();
      this.unlink(tmp);
      throw err;
    }
    return { block: BlockReader.open(join(this.opts.dir, name), seq), series };
  }

  // ------------------------------------------------------------ compaction

  private ranges(): number[] {
    const out = [this.opts.window];
    while (out[out.length - 1] * 3 <= this.opts.maxSpan) out.push(out[out.length - 1] * 3);
    return out;
  }

  /**
   * The next set of blocks to merge: blocks inside one aligned window of a
   * level's range, once the window is complete (the newest sample is half a
   * base window past its end) or holds `minBlocks` blocks. Lowest level first.
   */
  plan(newest: number): BlockReader[] | undefined {
    for (const r of this.ranges()) {
      const groups = new Map<number, BlockReader[]>();
      for (const b of this.blocks) {
        if (this.busy.has(b)) continue;
        const k = Math.floor(b.summary.minT / r);
        if (b.summary.maxT >= (k + 1) * r) continue;
        let g = groups.get(k);
        if (!g) groups.set(k, (g = []));
        g.push(b);
      }
      for (const [k, g] of groups) {
        if (g.length < 2) continue;
        const complete = newest >= (k + 1) * r + this.opts.window / 2;
        if (complete || g.length >= this.opts.minBlocks) return g;
      }
    }
    return undefined;
  }

  /**
   * Merges `inputs` into one block, series by series; yields between series
   * (the async driver gives the event loop back in slices). Chunks wholly
   * before `cutoff` are dropped. Crash-safe: the new block is complete on disk
   * (temporary name, then rename) before the inputs go, and it names them as
   * parents so a restart deletes inputs a crash left behind.
   */
  *merge(inputs: BlockReader[], cutoff: number, aborted: () => boolean): Generator<void, boolean> {
    for (const b of inputs) this.busy.add(b);
    try {
      const inSet = new Set(inputs);
      const refs = new Set<number>();
      for (const b of inputs) for (const r of b.refs) refs.add(r);
      const members: MemSeries[] = [];
      for (const r of [...refs].sort((a, b) => a - b)) {
        const s = this.index.byRef.get(r);
        if (s) members.push(s);
      }
      const ordered = [...inputs].sort((a, b) => a.summary.minT - b.summary.minT);
      const seq = this.nextSeq++;
      const name = seqName(seq, '.vtb');
      const tmp = join(this.opts.dir, `${name}.tmp`);
      const w = new BlockWriter(
        tmp,
        inputs.map((b) => b.seq),
      );
      const written: MemSeries[] = [];
      try {
        for (let i = 0; i < members.length; i++) {
          const s = members[i];
          const chunks: ChunkData[] = [];
          for (const block of ordered) {
            const idx = block.idxOf(s.ref);
            if (idx < 0) continue;
            for (const c of this.readChunks({ block, idx }, cutoff, Infinity)) {
              const prev = chunks[chunks.length - 1];
              if (!prev || c.data.minT > prev.maxT) chunks.push(c.data);
            }
          }
          if (w.addSeries(s.labels, chunks)) written.push(s);
          if (i % 64 === 63) {
            yield;
            if (aborted()) throw new Error('aborted');
          }
        }
        w.finish();
        renameSync(tmp, join(this.opts.dir, name));
        fsyncDir(this.opts.dir);
      } catch (err) {
        w.abort();
        this.unlink(tmp);
        if ((err as Error).message === 'aborted') return false;
        throw err;
      }
      const merged = BlockReader.open(join(this.opts.dir, name), seq);
      this.detach(inSet);
      this.attachWritten(merged, written);
      for (const b of inputs) {
        b.close();
        this.unlink(b.path);
      }
      this.metrics?.compactions.inc();
      return true;
    } finally {
      for (const b of inputs) this.busy.delete(b);
    }
  }

  /** Takes the blocks out of the set and their series' block counts. */
  private detach(gone: ReadonlySet<BlockReader>): void {
    for (const b of gone) {
      for (const r of b.refs) {
        const s = this.index.byRef.get(r);
        if (s) s.blockCount--;
      }
    }
    this.blocks = this.blocks.filter((b) => !gone.has(b));
  }

  /** Runs compaction to the end now (checkpoints called directly, tests). */
  compactNow(newest: number, cutoff: number): void {
    for (let plan = this.plan(newest); plan; plan = this.plan(newest)) {
      const it = this.merge(plan, cutoff, () => false);
      while (!it.next().done) {
        /* run every step */
      }
    }
  }

  /** Runs compaction in slices of `sliceMs`, giving the event loop back in between. */
  async compactInSlices(newest: number, cutoff: () => number, aborted: () => boolean): Promise<void> {
    for (let plan = this.plan(newest); plan && !aborted(); plan = this.plan(newest)) {
      const it = this.merge(plan, cutoff(), aborted);
      let start = performance.now();
      for (;;) {
        const r = it.next();
        if (r.done) {
          if (!r.value) return;
          break;
        }
        if (performance.now() - start >= this.opts.sliceMs) {
          await new Promise<void>((res) => setImmediate(res));
          start = performance.now();
        }
      }
      await new Promise<void>((res) => setImmediate(res));
    }
  }

  // ------------------------------------------------------------ retention

  /**
   * Deletes blocks wholly before `cutoff`, then the oldest blocks while the
   * data directory is above `maxBytes` (0: no size bound; `otherBytes` is
   * what the WAL takes). Returns the series left without block data.
   */
  applyRetention(cutoff: number, maxBytes: number, otherBytes: number): number {
    const gone = new Set<BlockReader>();
    for (const b of this.blocks) if (b.summary.maxT < cutoff && !this.busy.has(b)) gone.add(b);
    if (maxBytes > 0) {
      let total = otherBytes;
      for (const b of this.blocks) if (!gone.has(b)) total += b.bytes;
      for (const b of this.blocks) {
        if (total <= maxBytes) break;
        if (gone.has(b) || this.busy.has(b)) continue;
        gone.add(b);
        total -= b.bytes;
      }
    }
    if (gone.size === 0) return 0;
    this.detach(gone);
    for (const b of gone) {
      b.close();
      this.unlink(b.path);
    }
    this.opts.logger.info({ deleted: gone.size, cutoff }, 'tsdb: retention deleted blocks');
    return gone.size;
  }

  // ------------------------------------------------------------ reading

  /**
   * The intact chunks of a series in one block overlapping [mint, maxt], in
   * time order. Damaged ones are skipped, counted and logged once. `region`
   * is the block's chunk-metas region when the caller read it whole.
   */
  readChunks(loc: BlockLoc, mint: number, maxt: number, region?: Uint8Array, metas?: ChunkMeta[] | null): Array<{ meta: ChunkMeta; data: ChunkData }> {
    const b = loc.block;
    const all = metas === undefined ? this.metasOf(loc, region) : metas;
    if (!all) return [];
    const want = all.filter((m) => m.maxT >= mint && m.minT <= maxt);
    if (want.length === 0) return [];
    const buf = b.readRun(want);
    const base = want[0].offset;
    const out: Array<{ meta: ChunkMeta; data: ChunkData }> = [];
    for (const m of want) {
      const at = m.offset - base;
      const c = at + m.length <= buf.length ? parseChunkRecord(buf.subarray(0, at + m.length), at, m) : 'block file shorter than its index';
      if (typeof c === 'string') {
        this.damage(`${b.seq}:${m.offset}`, { file: b.path, offset: m.offset, samples: m.count, problem: c }, 'tsdb: damaged chunk skipped');
        continue;
      }
      out.push({ meta: m, data: c });
    }
    return out;
  }

  metasOf(loc: BlockLoc, region?: Uint8Array): ChunkMeta[] | null {
    const m = loc.block.metas(loc.idx, region);
    if (!m) {
      this.damage(`${loc.block.seq}:m${loc.idx}`, { file: loc.block.path, series: loc.idx }, 'tsdb: damaged chunk index entry; the series\' chunks in this block are skipped');
    }
    return m;
  }

  private damage(key: string, detail: object, msg: string): void {
    if (this.reportedDamage.has(key)) return;
    this.reportedDamage.add(key);
    this.damagedChunks++;
    this.metrics?.chunkCorruptions.inc();
    this.opts.logger.error(detail, msg);
  }

  bytes(): number {
    let n = 0;
    for (const b of this.blocks) n += b.bytes;
    return n;
  }

  samples(): number {
    let n = 0;
    for (const b of this.blocks) n += b.summary.samples;
    return n;
  }

  minTime(): number {
    return this.blocks.length ? Math.min(...this.blocks.map((b) => b.summary.minT)) : Infinity;
  }

  close(): void {
    for (const b of this.blocks) b.close();
    this.blocks = [];
  }

  private unlink(path: string): void {
    try {
      if (existsSync(path)) unlinkSync(path);
    } catch (err) {
      this.opts.logger.error({ file: path, err: (err as Error).message }, 'tsdb: cannot delete a block file');
    }
  }
}

export const DEFAULT_BLOCK_WINDOW = 2 * HOUR;

/** The chunks of `chunks` that start in window `win` (the array itself when all do, as nearly always). */
function chunksIn(chunks: readonly ChunkData[], win: number, window: number): readonly ChunkData[] {
  const first = Math.floor(chunks[0].minT / window);
  const last = Math.floor(chunks[chunks.length - 1].minT / window);
  if (first === win && last === win) return chunks;
  return chunks.filter((c) => Math.floor(c.minT / window) === win);
}
