import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { decodeBlock, encodeBlock, type StoredChunk } from './block.js';
import { ByteWriter } from './bytes.js';
import { ChunkAppender, decodeRange, staleBuffer } from './chunk.js';
import { DecodedChunkCache, type DecodedChunk } from './decoded-cache.js';
import { describeLabels, SampleError } from './errors.js';
import { listSequenced, seqName, writeFileAtomic } from './files.js';
import { acquireLock } from './lock.js';
import { labelsKey } from './matchers.js';
import type { TsdbMetrics } from './metrics.js';
import { PostingsIndex } from './postings.js';
import { beginRecord, endRecord, readLabels, readRecords, RecordType, writeLabels } from './records.js';
import { MemSeries, type ClosedChunk } from './series.js';
import type { Appender, Labels, Matcher, Querier, SeriesData, Storage, StorageStats } from './types.js';
import { Wal } from './wal.js';

export interface TsdbOptions {
  /** Data directory; created when missing. */
  dir: string;
  /** Samples older than the newest sample minus this are deleted (Prometheus' time retention). */
  retentionMs: number;
  logger?: Logger;
  /** 0 (default): every commit reaches the WAL file before it resolves. Otherwise commits are written every N ms. */
  walFlushIntervalMs?: number;
  /** Checkpoint (closed chunks to a block, WAL truncated) this often. Default 15 minutes. */
  checkpointIntervalMs?: number;
  /** Also checkpoint once the WAL grows past this many bytes. Default 64 MiB. */
  walCheckpointBytes?: number;
  /** Samples per chunk. Default 120. */
  chunkSize?: number;
  /** Merge this many consecutive small blocks into one. Default 4. */
  compactionMinBlocks?: number;
  /**
   * Memory for decoded chunks kept between queries (least recently used go
   * first). Default 64 MiB: 4M samples, the recent hour of 10k series twice
   * over. 0 decodes on every query.
   */
  decodedCacheBytes?: number;
}

interface BlockMeta {
  seq: number;
  name: string;
  minT: number;
  maxT: number;
  bytes: number;
}

const DAY = 24 * 3600_000;

/** File in the WAL directory naming the segment the last checkpoint started. */
const CHECKPOINT_MARKER = '.checkpoint';

function readCheckpointMarker(walDir: string): number {
  try {
    const n = Number(readFileSync(join(walDir, CHECKPOINT_MARKER), 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

/**
 * The embedded store: series index with postings, Gorilla-compressed chunks in
 * memory, a write-ahead log and block files in the data directory.
 *
 * Data directory layout:
 *   LOCK                  pid of the owning process
 *   wal/NNNNNNNN          WAL segments (labels, samples, checkpoint snapshots of head chunks)
 *   blocks/NNNNNNNN.vtb   closed chunks written by checkpoints, merged by compaction
 *   *.corrupt             damaged files set aside (their intact part was loaded)
 */
export class Tsdb implements Storage {
  readonly dir: string;
  private readonly walDir: string;
  private readonly blocksDir: string;
  private readonly logger: Logger;
  private readonly retentionMs: number;
  private readonly chunkSize: number;
  private readonly walFlushIntervalMs: number;
  private readonly walCheckpointBytes: number;
  private readonly compactionMinBlocks: number;
  private readonly checkpointIntervalMs: number;
  private readonly byKey = new Map<string, MemSeries>();
  /**
   * Frozen label object -> its registered series. Scrapers hand the same
   * object for a series on every scrape, so appends skip building the key.
   * Only frozen objects: a mutable one could change under the cache.
   */
  private readonly byObject = new WeakMap<Labels, MemSeries>();
  private readonly byRef = new Map<number, MemSeries>();
  private readonly postings = new PostingsIndex();
  /** Decoded chunks kept between queries. */
  readonly decoded: DecodedChunkCache;
  private nextRef = 1;
  private wal!: Wal;
  private blocks: BlockMeta[] = [];
  private nextBlockSeq = 1;
  private totalSamples = 0;
  private maxTime = -Infinity;
  private closed = false;
  private checkpointQueued = false;
  private timers: NodeJS.Timeout[] = [];
  private releaseLock: () => void = () => {};
  private readonly walBuf = new ByteWriter(1 << 16);
  private readonly seriesBuf = new ByteWriter(1 << 12);
  metrics?: TsdbMetrics;
  /**
   * Low watermark of WAL readers (remote write): segments numbered from the
   * returned value on are kept by checkpoints. Infinity keeps none.
   */
  walRetainFrom: () => number = () => Infinity;

  constructor(opts: TsdbOptions) {
    if (!(opts.retentionMs > 0)) throw new Error(`tsdb retention must be positive, got ${opts.retentionMs}`);
    this.dir = opts.dir;
    this.walDir = join(opts.dir, 'wal');
    this.blocksDir = join(opts.dir, 'blocks');
    this.logger = opts.logger ?? silentLogger();
    this.retentionMs = opts.retentionMs;
    this.chunkSize = opts.chunkSize ?? 120;
    this.walFlushIntervalMs = opts.walFlushIntervalMs ?? 0;
    this.walCheckpointBytes = opts.walCheckpointBytes ?? 64 * 1024 * 1024;
    this.compactionMinBlocks = Math.max(2, opts.compactionMinBlocks ?? 4);
    this.checkpointIntervalMs = opts.checkpointIntervalMs ?? 15 * 60_000;
    this.decoded = new DecodedChunkCache(opts.decodedCacheBytes ?? 64 * 1024 * 1024);
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  // ---------------------------------------------------------------- loading

  /** Reads blocks and replays the WAL. Damaged files are logged and skipped. */
  load(): void {
    mkdirSync(this.walDir, { recursive: true });
    mkdirSync(this.blocksDir, { recursive: true });
    this.releaseLock = acquireLock(this.dir);
    try {
      for (const d of [this.walDir, this.blocksDir]) {
        for (const f of readdirSync(d)) if (f.endsWith('.tmp')) unlinkSync(join(d, f));
      }
      this.loadBlocks();
      for (const s of this.byRef.values()) s.refreshLast();
      this.wal = new Wal(this.walDir);
      const lastSeq = this.replayWal();
      this.wal.startSegment(lastSeq + 1, new Uint8Array(0));
      this.applyRetention();
    } catch (err) {
      this.releaseLock();
      throw err;
    }
    if (this.checkpointIntervalMs > 0) this.every(this.checkpointIntervalMs, () => this.safeCheckpoint());
    if (this.walFlushIntervalMs > 0) this.every(this.walFlushIntervalMs, () => this.safeFlush());
  }

  private series(labels: Labels): MemSeries {
    const key = labelsKey(labels);
    let s = this.byKey.get(key);
    if (!s) {
      s = new MemSeries(Object.freeze({ ...labels }), key);
      this.register(s);
    }
    return s;
  }

  private register(s: MemSeries): void {
    s.ref = this.nextRef++;
    this.byKey.set(s.key, s);
    this.byRef.set(s.ref, s);
    this.postings.add(s.ref, s.labels);
  }

  private loadBlocks(): void {
    for (const { seq, name } of listSequenced(this.blocksDir, '.vtb')) {
      this.nextBlockSeq = Math.max(this.nextBlockSeq, seq + 1);
      const path = join(this.blocksDir, name);
      let data: Uint8Array;
      try {
        data = readFileSync(path);
      } catch (err) {
        this.logger.error({ file: path, err: (err as Error).message }, 'tsdb: cannot read block, skipping it');
        this.metrics?.blockCorruptions.inc();
        continue;
      }
      const loaded: ClosedChunk[] = [];
      const res = decodeBlock(data, (labels, c) => {
        const chunk: ClosedChunk = { ...c, persisted: true };
        this.series(labels).chunks.push(chunk);
        loaded.push(chunk);
      });
      if (res.problem) {
        this.metrics?.blockCorruptions.inc();
        this.logger.error(
          { file: path, problem: res.problem, chunksRecovered: loaded.length },
          'tsdb: damaged block file; loaded its intact part and set the file aside as .corrupt',
        );
        // The intact chunks go into the next checkpoint's block, so they survive the move.
        for (const c of loaded) c.persisted = false;
        try {
          renameSync(path, `${path}.corrupt`);
        } catch {
          // read-only directory: it will be reported again next time
        }
        continue;
      }
      this.blocks.push({ seq, name, minT: res.summary.minT, maxT: res.summary.maxT, bytes: data.length });
    }
    for (const s of this.byRef.values()) {
      if (s.chunks.length < 2) continue;
      s.chunks.sort((a, b) => a.minT - b.minT);
      // Overlaps come from a crash between writing a merged block and deleting its inputs.
      const kept: ClosedChunk[] = [];
      for (const c of s.chunks) {
        const prev = kept[kept.length - 1];
        if (prev && c.minT <= prev.maxT) continue;
        kept.push(c);
      }
      s.chunks = kept;
    }
    for (const s of this.byRef.values()) {
      for (const c of s.chunks) {
        this.totalSamples += c.count;
        if (c.maxT > this.maxTime) this.maxTime = c.maxT;
      }
    }
  }

  /** Replays every segment in order; returns the last segment number (0 when none). */
  private replayWal(): number {
    // Segments before the last checkpoint are only kept for WAL readers (remote
    // write); their samples are in blocks and the checkpoint's snapshot.
    const checkpointSeq = readCheckpointMarker(this.walDir);
    const all = this.wal.segments();
    // Only trusted while the snapshot segment it names exists.
    const segments = all.some((s) => s.seq === checkpointSeq) ? all.filter((s) => s.seq >= checkpointSeq) : all;
    const refs = new Map<number, MemSeries>();
    let unknownRefs = 0;
    let olderBytes = 0;
    for (const [i, seg] of segments.entries()) {
      let data: Uint8Array;
      try {
        data = this.wal.readSegment(seg.name);
      } catch (err) {
        this.metrics?.walCorruptions.inc();
        this.logger.error({ segment: seg.name, err: (err as Error).message }, 'tsdb: cannot read WAL segment, skipping it');
        continue;
      }
      olderBytes += data.length;
      const problem = readRecords(data, (type, r) => {
        switch (type) {
          case RecordType.Series: {
            const ref = r.uvarint();
            refs.set(ref, this.series(readLabels(r)));
            return;
          }
          case RecordType.HeadChunk: {
            const ref = r.uvarint();
            const count = r.uvarint();
            const bytes = r.bytes().slice();
            const s = refs.get(ref);
            if (!s) {
              unknownRefs++;
              return;
            }
            const head = ChunkAppender.restore(bytes, count);
            // Skip snapshots whose samples are already here (from a block or an earlier segment).
            if (count === 0 || head.minT <= s.lastT) return;
            if (s.head && s.head.count) s.cutHead();
            s.head = head;
            this.totalSamples += count;
            if (head.maxT > this.maxTime) this.maxTime = head.maxT;
            s.refreshLast();
            return;
          }
          case RecordType.Samples: {
            const n = r.uvarint();
            let t = 0;
            for (let k = 0; k < n; k++) {
              const x = r.uvarint();
              const stale = x % 2 === 1;
              const ref = Math.floor(x / 2);
              t += r.varint();
              const v = stale ? NaN : r.f64();
              const s = refs.get(ref);
              if (!s) {
                unknownRefs++;
                continue;
              }
              if (t <= s.lastT) continue;
              s.append(t, v, stale, this.chunkSize);
              this.totalSamples++;
              if (t > this.maxTime) this.maxTime = t;
            }
            return;
          }
          default:
            throw new Error(`unknown WAL record type ${type}`);
        }
      });
      if (problem) {
        this.metrics?.walCorruptions.inc();
        const torn = /torn|zero-filled/.test(problem.reason) && i === segments.length - 1;
        const detail = { segment: seg.name, offset: problem.offset, problem: problem.reason, bytesSkipped: data.length - problem.offset };
        if (torn) this.logger.warn(detail, 'tsdb: WAL ends in a torn record (unclean shutdown); the partial commit is dropped');
        else this.logger.error(detail, 'tsdb: damaged WAL segment; records after the damage are skipped');
      }
    }
    if (unknownRefs) {
      this.metrics?.walCorruptions.inc();
      this.logger.error({ samples: unknownRefs }, 'tsdb: WAL samples for series never declared; skipped');
    }
    this.wal.setOlderBytes(olderBytes);
    return all.length ? all[all.length - 1].seq : 0;
  }

  // ---------------------------------------------------------------- writing

  appender(): Appender {
    return new TsdbAppender(this);
  }

  /** Finds or prepares (unregistered, ref 0) the series for `labels`. */
  resolve(labels: Labels, pending: Map<string, MemSeries>): MemSeries {
    const known = this.byObject.get(labels);
    if (known !== undefined && !known.dead) return known;
    const key = seriesKey(labels);
    const registered = this.byKey.get(key);
    if (registered) {
      // Pending series are not cached: a rollback would leave them unregistered.
      if (Object.isFrozen(labels)) this.byObject.set(labels, registered);
      return registered;
    }
    const s = pending.get(key);
    if (s) return s;
    if (key === '') throw this.reject('invalid', 'sample without labels');
    // An empty label value means the label is absent (Prometheus semantics).
    const clean: Record<string, string> = {};
    for (const n of Object.keys(labels)) {
      const v = labels[n];
      if (typeof v !== 'string') throw this.reject('invalid', `label ${JSON.stringify(n)} has a non-string value`);
      if (v !== '') clean[n] = v;
    }
    const created = new MemSeries(Object.freeze(clean), key);
    pending.set(key, created);
    return created;
  }

  /** A series retention removed while an appender still held it. */
  private revive(s: MemSeries): MemSeries {
    const existing = this.byKey.get(s.key);
    if (existing) return existing;
    const fresh = new MemSeries(s.labels, s.key);
    this.register(fresh);
    return fresh;
  }

  reject(code: 'out_of_order' | 'duplicate' | 'invalid', message: string): SampleError {
    this.metrics?.rejected.inc({ reason: code });
    return new SampleError(code, message);
  }

  /** Logs and applies one appender's samples. Synchronous, so commits never interleave. */
  commitBatch(a: TsdbAppender): void {
    if (this.closed) throw new Error('tsdb is closed');
    const n = a.ts.length;
    if (n === 0) return;
    for (const s of a.pending.values()) {
      const existing = this.byKey.get(s.key);
      // Another appender may have created the same series since this one began.
      if (existing) s.ref = -existing.ref;
      else this.register(s);
    }
    const series = a.series;
    const accepted = new Uint8Array(n);
    const sw = this.seriesBuf;
    sw.pos = 0;
    const logged: MemSeries[] = [];
    const gen = this.wal.gen;
    let count = 0;
    for (let i = 0; i < n; i++) {
      let s = series[i];
      if (s.ref < 0) series[i] = s = this.byRef.get(-s.ref)!;
      else if (s.dead) series[i] = s = this.revive(s);
      const t = a.ts[i];
      if (t <= s.lastT) {
        // Lost a race with a concurrent appender: Prometheus drops such samples as out of order.
        if (!(t === s.lastT && (a.stales[i] ? s.lastStale : !s.lastStale && Object.is(a.vs[i], s.lastV)))) {
          this.metrics?.rejected.inc({ reason: t === s.lastT ? 'duplicate' : 'out_of_order' });
        }
        continue;
      }
      accepted[i] = 1;
      count++;
      if (s.walGen !== gen) {
        const rec = beginRecord(sw, RecordType.Series);
        sw.uvarint(s.ref);
        writeLabels(sw, s.labels);
        endRecord(sw, rec);
        s.walGen = gen;
        logged.push(s);
      }
    }
    if (count === 0) return;
    const w = this.walBuf;
    w.pos = 0;
    w.ensure(sw.pos);
    w.buf.set(sw.result(), 0);
    w.pos = sw.pos;
    const rec = beginRecord(w, RecordType.Samples);
    w.uvarint(count);
    let prevT = 0;
    for (let i = 0; i < n; i++) {
      if (!accepted[i]) continue;
      const stale = a.stales[i];
      w.uvarint(series[i].ref * 2 + (stale ? 1 : 0));
      w.varint(a.ts[i] - prevT);
      prevT = a.ts[i];
      if (!stale) w.f64(a.vs[i]);
    }
    endRecord(w, rec);
    try {
      this.wal.write(w.result(), this.walFlushIntervalMs > 0);
    } catch (err) {
      for (const s of logged) s.walGen = -1;
      throw new Error(`tsdb: cannot write the WAL, commit dropped: ${(err as Error).message}`);
    }
    let maxT = this.maxTime;
    for (let i = 0; i < n; i++) {
      if (!accepted[i]) continue;
      const t = a.ts[i];
      series[i].append(t, a.vs[i], a.stales[i], this.chunkSize);
      if (t > maxT) maxT = t;
    }
    this.maxTime = maxT;
    this.totalSamples += count;
    this.metrics?.samplesAppended.inc(count);
    if (!this.checkpointQueued && this.wal.size() > this.walCheckpointBytes) {
      this.checkpointQueued = true;
      setImmediate(() => {
        this.checkpointQueued = false;
        this.safeCheckpoint();
      });
    }
  }

  // ---------------------------------------------------------------- checkpoint, retention, compaction

  private safeFlush(): void {
    try {
      this.wal.flush();
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'tsdb: WAL flush failed');
    }
  }

  private safeCheckpoint(): void {
    if (this.closed) return;
    try {
      this.checkpoint();
    } catch (err) {
      this.metrics?.checkpointFailures.inc();
      this.logger.error({ err: (err as Error).message }, 'tsdb: checkpoint failed; the WAL keeps the data');
    }
  }

  /**
   * Applies retention, writes closed chunks to a new block, merges small
   * blocks, and starts a new WAL segment with a snapshot of the head chunks,
   * deleting the older segments. Synchronous: no commit can interleave.
   */
  checkpoint(): void {
    if (this.closed) throw new Error('tsdb is closed');
    this.wal.flush();
    this.applyRetention();
    this.persistClosedChunks();
    this.compactBlocks();
    this.rotateWal();
    this.metrics?.checkpoints.inc();
  }

  private cutoff(): number {
    return Number.isFinite(this.maxTime) ? this.maxTime - this.retentionMs : -Infinity;
  }

  private applyRetention(): void {
    const cutoff = this.cutoff();
    if (!Number.isFinite(cutoff)) return;
    const dead = new Set<number>();
    for (const s of this.byRef.values()) {
      let drop = 0;
      while (drop < s.chunks.length && s.chunks[drop].maxT < cutoff) this.totalSamples -= s.chunks[drop++].count;
      if (drop) s.chunks.splice(0, drop);
      if (s.head && s.head.count && s.head.maxT < cutoff) {
        this.totalSamples -= s.head.count;
        s.head = null;
      }
      if (s.chunks.length === 0 && !(s.head && s.head.count)) dead.add(s.ref);
    }
    if (dead.size) {
      this.postings.remove(dead, (ref) => this.byRef.get(ref)!.labels);
      for (const ref of dead) {
        const s = this.byRef.get(ref)!;
        s.dead = true;
        this.byRef.delete(ref);
        this.byKey.delete(s.key);
      }
    }
    const keep: BlockMeta[] = [];
    for (const b of this.blocks) {
      if (b.maxT < cutoff) {
        try {
          unlinkSync(join(this.blocksDir, b.name));
        } catch (err) {
          this.logger.error({ file: b.name, err: (err as Error).message }, 'tsdb: cannot delete expired block');
          keep.push(b);
        }
      } else keep.push(b);
    }
    if (keep.length !== this.blocks.length) {
      this.logger.info({ deleted: this.blocks.length - keep.length, cutoff }, 'tsdb: retention deleted blocks');
    }
    this.blocks = keep;
  }

  private persistClosedChunks(): void {
    const groups: Array<{ labels: Labels; chunks: ClosedChunk[] }> = [];
    for (const s of this.byRef.values()) {
      const chunks = s.chunks.filter((c) => !c.persisted);
      if (chunks.length) groups.push({ labels: s.labels, chunks });
    }
    if (groups.length === 0) return;
    const { data, summary } = encodeBlock(groups);
    const seq = this.nextBlockSeq++;
    const name = seqName(seq, '.vtb');
    writeFileAtomic(this.blocksDir, name, data);
    for (const g of groups) for (const c of g.chunks) c.persisted = true;
    this.blocks.push({ seq, name, minT: summary.minT, maxT: summary.maxT, bytes: data.length });
  }

  /** The longest time a merged block may span: a tenth of the retention (as Prometheus), at most 31 days. */
  private maxBlockSpan(): number {
    return Math.min(this.retentionMs / 10, 31 * DAY);
  }

  private compactBlocks(): void {
    const span = this.maxBlockSpan();
    const runs: BlockMeta[][] = [];
    let run: BlockMeta[] = [];
    let lo = Infinity;
    let hi = -Infinity;
    for (const b of this.blocks) {
      if (run.length && Math.max(hi, b.maxT) - Math.min(lo, b.minT) > span) {
        runs.push(run);
        run = [];
        lo = Infinity;
        hi = -Infinity;
      }
      run.push(b);
      lo = Math.min(lo, b.minT);
      hi = Math.max(hi, b.maxT);
    }
    if (run.length) runs.push(run);
    for (const r of runs) if (r.length >= this.compactionMinBlocks) this.mergeBlocks(r);
  }

  private mergeBlocks(inputs: BlockMeta[]): void {
    const cutoff = this.cutoff();
    const bySeries = new Map<string, { labels: Labels; chunks: StoredChunk[] }>();
    for (const b of inputs) {
      const data = readFileSync(join(this.blocksDir, b.name));
      const res = decodeBlock(data, (labels, c) => {
        if (c.maxT < cutoff) return;
        const key = labelsKey(labels);
        let g = bySeries.get(key);
        if (!g) bySeries.set(key, (g = { labels, chunks: [] }));
        g.chunks.push(c);
      });
      if (res.problem) {
        // Leave the inputs alone; loading will report the damaged file.
        this.logger.error({ file: b.name, problem: res.problem }, 'tsdb: block changed on disk; compaction skipped');
        return;
      }
    }
    for (const g of bySeries.values()) {
      g.chunks.sort((a, b) => a.minT - b.minT);
      g.chunks = g.chunks.filter((c, i, all) => i === 0 || c.minT > all[i - 1].maxT);
    }
    const { data, summary } = encodeBlock(bySeries.values());
    const seq = this.nextBlockSeq++;
    const name = seqName(seq, '.vtb');
    writeFileAtomic(this.blocksDir, name, data);
    const merged: BlockMeta = { seq, name, minT: summary.minT, maxT: summary.maxT, bytes: data.length };
    const gone = new Set(inputs);
    for (const b of inputs) {
      try {
        unlinkSync(join(this.blocksDir, b.name));
      } catch {
        // a leftover input only duplicates chunks, which loading drops
      }
    }
    this.blocks = [...this.blocks.filter((b) => !gone.has(b)), merged].sort((a, b) => a.seq - b.seq);
    this.metrics?.compactions.inc();
  }

  private rotateWal(): void {
    const w = new ByteWriter(1 << 16);
    const snap: MemSeries[] = [];
    for (const s of this.byRef.values()) {
      const h = s.head;
      if (!h || h.count === 0) continue;
      let rec = beginRecord(w, RecordType.Series);
      w.uvarint(s.ref);
      writeLabels(w, s.labels);
      endRecord(w, rec);
      rec = beginRecord(w, RecordType.HeadChunk);
      w.uvarint(s.ref);
      w.uvarint(h.count);
      w.bytes(h.w.bytes());
      endRecord(w, rec);
      snap.push(s);
    }
    this.wal.startSegment(this.wal.seq + 1, w.result());
    for (const s of snap) s.walGen = this.wal.gen;
    writeFileAtomic(this.walDir, CHECKPOINT_MARKER, Buffer.from(String(this.wal.seq)));
    this.wal.dropOlder(this.walRetainFrom());
  }

  // ---------------------------------------------------------------- reading

  private labelsOf = (ref: number): Labels => this.byRef.get(ref)!.labels;

  querier(): Querier {
    return {
      select: (matchers, mint, maxt) => this.select(matchers, mint, maxt),
      series: (matchers, mint, maxt) => this.matching(matchers, mint, maxt).map((s) => s.labels),
      labelNames: (matchers, mint, maxt) => {
        const names = new Set<string>();
        for (const s of this.matching(matchers, mint, maxt)) for (const n in s.labels) names.add(n);
        return [...names].sort();
      },
      labelValues: (name, matchers, mint, maxt) => {
        const values = new Set<string>();
        for (const s of this.matching([...matchers, { type: '!=', name, value: '' }], mint, maxt)) values.add(s.labels[name]);
        return [...values].sort();
      },
    };
  }

  private matching(matchers: readonly Matcher[], mint: number, maxt: number): MemSeries[] {
    const out: MemSeries[] = [];
    for (const ref of this.postings.select(matchers, this.labelsOf)) {
      const s = this.byRef.get(ref)!;
      if (hasSampleIn(s, mint, maxt)) out.push(s);
    }
    return out;
  }

  select(matchers: readonly Matcher[], mint: number, maxt: number): SeriesData[] {
    // Two passes: size every series' chunks in range first, so all samples go
    // into one pair of arrays (views per series); thousands of small typed
    // arrays, each with its own buffer, cost more than decoding them.
    const picked: MemSeries[] = [];
    const firsts: number[] = [];
    const lasts: number[] = [];
    let total = 0;
    for (const ref of this.postings.select(matchers, this.labelsOf)) {
      const s = this.byRef.get(ref)!;
      const chunks = s.chunks;
      const first = firstChunkFrom(chunks, mint);
      let n = 0;
      let last = first;
      for (; last < chunks.length && chunks[last].minT <= maxt; last++) n += chunks[last].count;
      const h = s.head;
      if (h !== null && h.count > 0 && h.minT <= maxt && h.maxT >= mint) n += h.count;
      if (n === 0) continue;
      picked.push(s);
      firsts.push(first);
      lasts.push(last);
      total += n;
    }
    const out: SeriesData[] = [];
    if (total === 0) return out;
    const ts = new Float64Array(total);
    const vs = new Float64Array(total);
    const stale = staleBuffer(total);
    const flag = { sawStale: false };
    let at = 0;
    const cache = this.decoded;
    const chunkSize = this.chunkSize;
    for (let k = 0; k < picked.length; k++) {
      const s = picked[k];
      const chunks = s.chunks;
      const from = at;
      flag.sawStale = false;
      for (let i = firsts[k]; i < lasts[k]; i++) {
        const c = chunks[i];
        const d = cache.get(c, c.bytes, c.count, c.count);
        at = d ? copyRange(d, mint, maxt, ts, vs, stale, at, flag) : decodeRange(c.bytes, c.count, mint, maxt, ts, vs, stale, at, flag);
      }
      const h = s.head;
      if (h !== null && h.count > 0 && h.minT <= maxt && h.maxT >= mint) {
        const d = cache.get(h, h.w.buf, h.count, chunkSize);
        at = d ? copyRange(d, mint, maxt, ts, vs, stale, at, flag) : decodeRange(h.w.buf, h.count, mint, maxt, ts, vs, stale, at, flag);
      }
      if (at === from) continue;
      out.push({
        labels: s.labels,
        t: ts.subarray(from, at),
        v: vs.subarray(from, at),
        stale: flag.sawStale ? stale.slice(from, at) : undefined,
      });
    }
    return out;
  }

  // ---------------------------------------------------------------- status

  stats(): StorageStats {
    let minTime = Infinity;
    for (const s of this.byRef.values()) {
      const m = s.minTime();
      if (m < minTime) minTime = m;
    }
    return { series: this.byRef.size, samples: this.totalSamples, bytes: this.diskBytes(), minTime, maxTime: this.maxTime };
  }

  seriesCount(): number {
    return this.byRef.size;
  }

  sampleCount(): number {
    return this.totalSamples;
  }

  blockBytes(): number {
    let n = 0;
    for (const b of this.blocks) n += b.bytes;
    return n;
  }

  walBytes(): number {
    return this.closed ? 0 : this.wal.size();
  }

  diskBytes(): number {
    return this.blockBytes() + this.walBytes();
  }

  /** In-memory compressed sample data: closed chunks plus open head chunks. */
  chunkBytes(): number {
    let n = 0;
    for (const s of this.byRef.values()) {
      for (const c of s.chunks) n += c.bytes.length;
      if (s.head) n += s.head.byteLength();
    }
    return n;
  }

  /** Compressed bytes and sample count of the series matching `matchers` (for measuring compression). */
  chunkBytesOf(matchers: readonly Matcher[]): { bytes: number; samples: number } {
    let bytes = 0;
    let samples = 0;
    for (const ref of this.postings.select(matchers, this.labelsOf)) {
      const s = this.byRef.get(ref)!;
      for (const c of s.chunks) bytes += c.bytes.length;
      if (s.head) bytes += s.head.byteLength();
      samples += s.sampleCount();
    }
    return { bytes, samples };
  }

  headChunks(): number {
    let n = 0;
    for (const s of this.byRef.values()) if (s.head && s.head.count) n++;
    return n;
  }

  blockCount(): number {
    return this.blocks.length;
  }

  /** Flushes and checkpoints so the next start replays almost nothing, then releases the directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const t of this.timers) clearInterval(t);
    try {
      this.checkpoint();
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'tsdb: final checkpoint failed; the WAL keeps the data');
    }
    this.closed = true;
    this.decoded.clear();
    try {
      this.wal.close();
    } finally {
      this.metrics?.unregister();
      this.releaseLock();
    }
  }
}

/**
 * labelsKey() of the labels without empty values, written for the append hot
 * path: no sort call for the few labels a series has, no intermediate objects.
 */
function seriesKey(labels: Labels): string {
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

function firstChunkFrom(chunks: readonly ClosedChunk[], mint: number): number {
  let lo = 0;
  let hi = chunks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (chunks[mid].maxT < mint) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function hasSampleIn(s: MemSeries, mint: number, maxt: number): boolean {
  const flag = { sawStale: false };
  const check = (bytes: Uint8Array, count: number, minT: number, maxT: number): boolean => {
    if (minT > maxt || maxT < mint) return false;
    if (minT >= mint || maxT <= maxt) return true;
    // The range falls strictly inside the chunk: decode to see whether a sample lands in it.
    const it = decodeRange(bytes, count, mint, maxt, new Float64Array(count), new Float64Array(count), staleBuffer(count), 0, flag);
    return it > 0;
  };
  for (let i = firstChunkFrom(s.chunks, mint); i < s.chunks.length; i++) {
    const c = s.chunks[i];
    if (c.minT > maxt) break;
    if (check(c.bytes, c.count, c.minT, c.maxT)) return true;
  }
  const h = s.head;
  return h !== null && h.count > 0 && check(h.w.buf, h.count, h.minT, h.maxT);
}

/** Collects samples and hands them to the store on commit. */
export class TsdbAppender implements Appender {
  series: MemSeries[] = [];
  ts: number[] = [];
  vs: number[] = [];
  stales: boolean[] = [];
  pending = new Map<string, MemSeries>();

  constructor(private readonly db: Tsdb) {}

  append(labels: Labels, t: number, v: number): void {
    this.add(labels, t, v, false);
  }

  appendStale(labels: Labels, t: number): void {
    this.add(labels, t, NaN, true);
  }

  private add(labels: Labels, t: number, v: number, stale: boolean): void {
    if (!Number.isSafeInteger(t)) throw this.db.reject('invalid', `invalid timestamp ${t} for ${describeLabels(labels)}: must be an integer (ms)`);
    if (typeof v !== 'number') throw this.db.reject('invalid', `invalid value for ${describeLabels(labels)}: not a number`);
    const s = this.db.resolve(labels, this.pending);
    // The series remembers its latest pending sample in this appender (cheaper than a Map).
    const idx = s.pendingOwner === this ? s.pendingIdx : undefined;
    const lastT = idx === undefined ? s.lastT : this.ts[idx];
    if (t <= lastT) {
      if (t < lastT) throw this.db.reject('out_of_order', `out of order sample for ${describeLabels(s.labels)}: ${t} is before ${lastT}`);
      const lastStale = idx === undefined ? s.lastStale : this.stales[idx];
      const lastV = idx === undefined ? s.lastV : this.vs[idx];
      if (stale ? lastStale : !lastStale && Object.is(v, lastV)) return; // same sample again: accepted, nothing to do
      throw this.db.reject('duplicate', `duplicate sample for timestamp ${t} with a different value for ${describeLabels(s.labels)}`);
    }
    s.pendingOwner = this;
    s.pendingIdx = this.ts.length;
    this.series.push(s);
    this.ts.push(t);
    this.vs.push(v);
    this.stales.push(stale);
  }

  commit(): Promise<void> {
    try {
      this.db.commitBatch(this);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    } finally {
      this.rollback();
    }
  }

  rollback(): void {
    for (const s of this.series) s.pendingOwner = undefined;
    this.series = [];
    this.ts = [];
    this.vs = [];
    this.stales = [];
    this.pending = new Map();
  }
}
