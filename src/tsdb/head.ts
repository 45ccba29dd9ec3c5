import { ByteWriter } from './bytes.js';
import { chunkSlabs } from './byte-slabs.js';
import { describeLabels, SampleError, type SampleErrorCode } from './errors.js';
import type { TsdbMetrics } from './metrics.js';
import { beginRecord, endRecord, RecordType } from './records.js';
import { MemSeries, PendingSeries, type SeriesIndex } from './series.js';
import type { Appender, Labels, SeriesHandle } from './types.js';
import type { Wal } from './wal/wal.js';
import { writeHistogramSample, writeSample, writeSeriesRecord } from './wal/records.js';
import { histogramsEqual, type FloatHistogram } from '../model/histogram.js';
import { HistogramHead } from './histogram-head.js';
import { labelsHash } from '../model/labels.js';
import { grown } from '../util/typed-array.js';

export interface HeadOptions {
  chunkSize: number;
  /** Chunks never span a multiple of this (the smallest block window). */
  cutEvery: number;
  /** Commits are queued and written by a timer instead of on commit. */
  bufferedWal: boolean;
  /** New series beyond this many are refused. */
  maxSeries: number;
  /** WAL only: samples go to the WAL, no chunks are kept (agent mode). */
  walOnly: boolean;
}

const WAL_BUF_BYTES = 1 << 16;
const SERIES_BUF_BYTES = 1 << 12;
/** Record buffers larger than this after a commit are let go (see ByteWriter.trim). */
const KEEP_BUF_BYTES = 4 << 20;

/**
 * The head: appends go to the WAL, then into each series' open chunk.
 * Series identity lives in the shared SeriesIndex (blocks register there too).
 */
export class Head {
  /**
   * Frozen label object -> its registered series. Scrapers hand the same
   * object for a series on every scrape, so appends skip building the key.
   * Only frozen objects: a mutable one could change under the cache.
   */
  private readonly byObject = new WeakMap<Labels, MemSeries>();
  private readonly walBuf = new ByteWriter(WAL_BUF_BYTES);
  private readonly seriesBuf = new ByteWriter(SERIES_BUF_BYTES);
  /** Columns of finished appenders, lent to the next ones: a steady scrape allocates no sample arrays. */
  private readonly spare: SampleColumns[] = [];
  /** Per sample of the commit being written: 1 when it is accepted. */
  private accepted = new Uint8Array(1024);
  /** Per sample of the commit being written: its series' ref, for the WAL record. */
  private refs = new Int32Array(1024);
  maxTime = -Infinity;
  /** Samples appended since start (for stats: the blocks count their own). */
  samples = 0;
  /** Float chunks cut (closed, waiting in memory for a block) since the store last reset it at a checkpoint. */
  cuts = 0;
  metrics?: TsdbMetrics;
  closed = false;
  /** Called after a commit grew the WAL (the store decides whether to checkpoint). */
  onCommitted: () => void = () => {};
  /** Reads a series' newest stored sample when only its time is known (after a restart). */
  loadLast: (s: MemSeries) => void = () => {};

  constructor(
    readonly index: SeriesIndex,
    readonly wal: Wal,
    readonly opts: HeadOptions,
  ) {}

  appender(): Appender {
    return new HeadAppender(this);
  }

  /** Empty columns for an appender (one given back earlier when there is one). */
  takeColumns(): SampleColumns {
    return this.spare.pop() ?? new SampleColumns();
  }

  /** Takes back an appender's columns, emptied; a few are kept for the next appenders. */
  giveColumns(c: SampleColumns): void {
    c.clear();
    if (this.spare.length < MAX_SPARE_COLUMNS && c.capacity <= MAX_SPARE_CAPACITY) this.spare.push(c);
  }

  /** Appends a replayed or committed sample to the series' chunks. */
  appendSample(s: MemSeries, t: number, v: number, stale: boolean): void {
    // A marker ending a histogram series goes into its histogram chunk.
    if (stale && endsHistogram(s)) return this.appendHistogramSample(s, t, 'stale');
    if (this.opts.walOnly) {
      if (!stale && s.hist !== undefined) s.hist.last = undefined;
      s.lastT = t;
      s.lastV = v;
      s.lastStale = stale;
      s.lastFromBlock = false;
    } else {
      const open = s.head;
      s.append(t, v, stale, this.opts.chunkSize, this.opts.cutEvery);
      if (open !== null && s.head !== open) this.cuts++;
    }
    if (t > this.maxTime) this.maxTime = t;
  }

  /** Appends a replayed or committed native histogram sample (or a marker ending one). */
  appendHistogramSample(s: MemSeries, t: number, h: FloatHistogram | 'stale'): void {
    if (this.opts.walOnly) {
      // No chunks, but the series' kind decides how its marker is logged (endsHistogram).
      if (h !== 'stale') (s.hist ??= new HistogramHead()).last = h;
      s.lastT = t;
      s.lastV = NaN;
      s.lastStale = h === 'stale';
      s.lastFromBlock = false;
    } else s.appendHistogram(t, h, this.opts.chunkSize, this.opts.cutEvery);
    if (t > this.maxTime) this.maxTime = t;
  }

  /**
   * Finds or prepares (unregistered, ref 0) the series for `labels`. `cache`
   * false: the caller keeps the series as a handle (appendTo), so the label
   * object is not remembered: a weak-map entry per series would only add
   * 100k ephemerons (4 MB, and entries a full collection marks in passes of
   * their own) to the heap of a scraped 100k-series head.
   */
  resolve(labels: Labels, pending: PendingSeries, cache = true): MemSeries {
    const known = this.byObject.get(labels);
    if (known !== undefined && !known.dead) return known;
    const registered = this.index.find(labels);
    if (registered) {
      // Pending series are not cached: a rollback would leave them unregistered.
      if (cache && Object.isFrozen(labels)) this.byObject.set(labels, registered);
      return registered;
    }
    const hash = labelsHash(labels);
    const s = pending.find(hash, labels);
    if (s) return s;
    if (!hasLabel(labels)) throw this.reject('invalid', 'sample without labels');
    if (this.index.size + pending.size >= this.opts.maxSeries) {
      throw this.reject('series_limit', `series limit reached (storage.max_series = ${this.opts.maxSeries}): new series ${describeLabels(labels)} refused`);
    }
    // An empty label value means the label is absent (Prometheus semantics).
    const clean: Record<string, string> = {};
    for (const n of Object.keys(labels)) {
      const v = labels[n];
      if (typeof v !== 'string') throw this.reject('invalid', `label ${JSON.stringify(n)} has a non-string value`);
      if (v !== '') clean[n] = this.index.intern(v);
    }
    const created = new MemSeries(Object.freeze(clean));
    pending.add(hash, created);
    return created;
  }

  /** A series retention removed while an appender still held it. */
  private revive(s: MemSeries): MemSeries {
    const existing = this.index.find(s.labels);
    if (existing) return existing;
    const fresh = new MemSeries(s.labels);
    this.index.register(fresh);
    return fresh;
  }

  reject(code: SampleErrorCode, message: string): SampleError {
    this.metrics?.rejected.inc({ reason: code });
    return new SampleError(code, message);
  }

  /** The series' last sample, read from its block when only its time was known. */
  last(s: MemSeries): MemSeries {
    if (s.lastFromBlock) this.loadLast(s);
    return s;
  }

  /** Logs and applies one appender's samples. Synchronous, so commits never interleave. */
  commitBatch(a: HeadAppender): void {
    if (this.closed) throw new Error('tsdb is closed');
    const c = a.columns;
    const n = c.n;
    if (n === 0) return;
    for (const s of a.pending.list) {
      const existing = this.index.find(s.labels);
      // Another appender may have created the same series since this one began.
      if (existing) s.ref = -existing.ref;
      else this.index.register(s);
    }
    const { series, ts, vs, stales } = c;
    if (this.accepted.length < n) {
      this.accepted = new Uint8Array(Math.max(n, this.accepted.length * 2));
      this.refs = new Int32Array(this.accepted.length);
    }
    const accepted = this.accepted;
    // A 100k-series commit's series lie far apart in the heap: each pass over them is 100k
    // cache misses. Their refs are copied here for the WAL record, and the last pass, which
    // applies the samples, also ends the appender's claim (see SampleColumns.clear).
    const refs = this.refs;
    accepted.fill(0, 0, n);
    const sw = this.seriesBuf;
    sw.pos = 0;
    const logged: MemSeries[] = [];
    const gen = this.wal.gen;
    let count = 0;
    let hmarkers = 0;
    for (let i = 0; i < n; i++) {
      let s = series[i]!;
      if (s.ref < 0) series[i] = s = this.index.byRef.get(-s.ref)!;
      else if (s.dead) series[i] = s = this.revive(s);
      const t = ts[i];
      if (t <= s.lastT) {
        // Lost a race with a concurrent appender: Prometheus drops such samples as out of order.
        this.last(s);
        if (!(t === s.lastT && (stales[i] === 1 ? s.lastStale : !s.lastStale && Object.is(vs[i], s.lastV)))) {
          this.metrics?.rejected.inc({ reason: t === s.lastT ? 'duplicate' : 'out_of_order' });
        }
        continue;
      }
      // A marker ending a histogram series is logged as a histogram marker (see wal/records.ts).
      accepted[i] = stales[i] === 1 && endsHistogram(s) ? HISTOGRAM_MARKER : 1;
      refs[i] = s.ref;
      if (accepted[i] === HISTOGRAM_MARKER) hmarkers++;
      count++;
      if (s.walGen !== gen) {
        writeSeriesRecord(sw, s.ref, s.labels);
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
    const hists = a.hists;
    let hcount = hmarkers;
    if (hists !== undefined) for (const i of hists.keys()) if (accepted[i]) hcount++;
    const rec = beginRecord(w, RecordType.Samples);
    w.uvarint(count - hcount);
    let prevT = 0;
    for (let i = 0; i < n; i++) {
      if (accepted[i] !== 1 || (hists !== undefined && hists.has(i))) continue;
      writeSample(w, refs[i], ts[i] - prevT, vs[i], stales[i] === 1);
      prevT = ts[i];
    }
    endRecord(w, rec);
    if (hcount > 0) {
      const hrec = beginRecord(w, RecordType.HistogramSamples);
      w.uvarint(hcount);
      prevT = 0;
      if (hists !== undefined) {
        for (const [i, h] of hists) {
          if (!accepted[i]) continue;
          writeHistogramSample(w, series[i]!.ref, ts[i], prevT, h);
          prevT = ts[i];
        }
      }
      for (let i = 0; hmarkers > 0 && i < n; i++) {
        if (accepted[i] !== HISTOGRAM_MARKER) continue;
        writeHistogramSample(w, series[i]!.ref, ts[i], prevT, 'stale');
        prevT = ts[i];
      }
      endRecord(w, hrec);
    }
    try {
      this.wal.write(w.result(), this.opts.bufferedWal);
    } catch (err) {
      for (const s of logged) s.walGen = -1;
      throw new Error(`tsdb: cannot write the WAL, commit dropped: ${(err as Error).message}`);
    }
    for (let i = 0; i < n; i++) {
      const s = series[i]!;
      s.pendingOwner = undefined;
      if (!accepted[i]) continue;
      const h = accepted[i] === HISTOGRAM_MARKER ? 'stale' : hists?.get(i);
      if (h !== undefined) this.appendHistogramSample(s, ts[i], h);
      else this.appendSample(s, ts[i], vs[i], stales[i] === 1);
    }
    c.released = true;
    this.samples += count;
    this.metrics?.samplesAppended.inc(count);
    // A steady 100k-sample scrape needs about 1 MB; the first one, logging every series, 30 MB.
    this.walBuf.trim(KEEP_BUF_BYTES, WAL_BUF_BYTES);
    this.seriesBuf.trim(KEEP_BUF_BYTES, SERIES_BUF_BYTES);
    if (chunkSlabs.wasteful()) this.repackChunks();
    this.onCommitted();
  }

  /**
   * Moves every open chunk into fresh slabs, leaving the old ones, mostly
   * idle space that chunks growing in step gave back, to the garbage
   * collector (see byte-slabs.ts). A 100k-series head copies about 30 MB.
   */
  repackChunks(): void {
    chunkSlabs.restart();
    for (const s of this.index.byRef.values()) s.head?.w.repack();
  }
}

/** `accepted` value of a marker ending a histogram series. */
const HISTOGRAM_MARKER = 2;

/** The series' latest sample is a histogram (or a marker after one): a marker now ends a histogram series. */
function endsHistogram(s: MemSeries): boolean {
  return s.hist !== undefined && s.hist.last !== undefined;
}

const MAX_SPARE_COLUMNS = 4;
/** Columns grown past this many samples (a one-off huge commit) are not kept. */
const MAX_SPARE_CAPACITY = 1 << 22;

/** An appender's samples in columns, reused from commit to commit (see Head.takeColumns). */
export class SampleColumns {
  series: Array<MemSeries | undefined> = [];
  ts = new Float64Array(1024);
  vs = new Float64Array(1024);
  /** 1 for a staleness marker. */
  stales = new Uint8Array(1024);
  n = 0;
  /** The commit ended the series' claims already (pendingOwner): clear() only forgets them. */
  released = false;

  get capacity(): number {
    return this.ts.length;
  }

  push(s: MemSeries, t: number, v: number, stale: boolean): void {
    const i = this.n;
    if (i === this.ts.length) this.grow();
    this.series[i] = s;
    this.ts[i] = t;
    this.vs[i] = v;
    this.stales[i] = stale ? 1 : 0;
    this.n = i + 1;
  }

  /** Forgets the samples, and the series so that retention can free them. */
  clear(): void {
    const series = this.series;
    if (this.released) series.fill(undefined, 0, this.n);
    else
      for (let i = 0; i < this.n; i++) {
        series[i]!.pendingOwner = undefined;
        series[i] = undefined;
      }
    this.n = 0;
    this.released = false;
  }

  private grow(): void {
    const size = this.ts.length * 2;
    this.ts = grown(this.ts, size);
    this.vs = grown(this.vs, size);
    this.stales = grown(this.stales, size);
  }
}

/** Collects samples and hands them to the head on commit. */
export class HeadAppender implements Appender {
  private cols: SampleColumns | undefined = undefined;
  pending = new PendingSeries();
  /** Native histogram samples by their index in the arrays above (their `vs` entry is NaN). */
  hists: Map<number, FloatHistogram> | undefined = undefined;

  constructor(private readonly head: Head) {}

  /** The samples so far (columns are borrowed from the head at the first one). */
  get columns(): SampleColumns {
    return (this.cols ??= this.head.takeColumns());
  }

  appendHistogram(labels: Labels, t: number, h: FloatHistogram): void {
    const head = this.head;
    if (!Number.isSafeInteger(t)) throw head.reject('invalid', `invalid timestamp ${t} for ${describeLabels(labels)}: must be an integer (ms)`);
    if (typeof h !== 'object' || h === null || typeof h.count !== 'number') throw head.reject('invalid', `invalid histogram for ${describeLabels(labels)}`);
    const s = head.resolve(labels, this.pending);
    const c = this.columns;
    const idx = s.pendingOwner === this ? s.pendingIdx : undefined;
    const lastT = idx === undefined ? s.lastT : c.ts[idx];
    if (t <= lastT) {
      if (t < lastT) throw head.reject('out_of_order', `out of order sample for ${describeLabels(s.labels)}: ${t} is before ${lastT}`);
      if (idx === undefined) head.last(s);
      const prev = idx === undefined ? (s.lastStale ? undefined : s.hist?.last) : this.hists?.get(idx);
      if (prev !== undefined && histogramsEqual(prev, h)) return;
      throw head.reject('duplicate', `duplicate sample for timestamp ${t} with a different value for ${describeLabels(s.labels)}`);
    }
    s.pendingOwner = this;
    s.pendingIdx = c.n;
    (this.hists ??= new Map()).set(c.n, h);
    c.push(s, t, NaN, false);
  }

  append(labels: Labels, t: number, v: number): void {
    this.add(labels, t, v, false);
  }

  appendTo(series: SeriesHandle | undefined, labels: Labels, t: number, v: number): SeriesHandle | undefined {
    const s = this.add(labels, t, v, false, true, series as MemSeries | undefined);
    // A series created by this appender is not the store's until the commit: it is found by labels again.
    return s.ref > 0 ? s : undefined;
  }

  appendStale(labels: Labels, t: number): void {
    this.add(labels, t, NaN, true);
  }

  /** `handle`: the caller keeps the series returned (appendTo), `known` is its handle when it has one. */
  private add(labels: Labels, t: number, v: number, stale: boolean, handle = false, known?: MemSeries): MemSeries {
    const head = this.head;
    if (!Number.isSafeInteger(t)) throw head.reject('invalid', `invalid timestamp ${t} for ${describeLabels(labels)}: must be an integer (ms)`);
    if (typeof v !== 'number') throw head.reject('invalid', `invalid value for ${describeLabels(labels)}: not a number`);
    // A handle is used only while it is a registered, live series of these very labels.
    const s = known !== undefined && known.ref > 0 && !known.dead && known.labels === labels ? known : head.resolve(labels, this.pending, !handle);
    const c = this.columns;
    // The series remembers its latest pending sample in this appender (cheaper than a Map).
    const idx = s.pendingOwner === this ? s.pendingIdx : undefined;
    const lastT = idx === undefined ? s.lastT : c.ts[idx];
    if (t <= lastT) {
      if (t < lastT) throw head.reject('out_of_order', `out of order sample for ${describeLabels(s.labels)}: ${t} is before ${lastT}`);
      if (idx === undefined) head.last(s);
      const lastStale = idx === undefined ? s.lastStale : c.stales[idx] === 1;
      const lastV = idx === undefined ? s.lastV : c.vs[idx];
      if (stale ? lastStale : !lastStale && Object.is(v, lastV)) return s; // same sample again: accepted, nothing to do
      throw head.reject('duplicate', `duplicate sample for timestamp ${t} with a different value for ${describeLabels(s.labels)}`);
    }
    s.pendingOwner = this;
    s.pendingIdx = c.n;
    c.push(s, t, v, stale);
    return s;
  }

  commit(): Promise<void> {
    try {
      this.head.commitBatch(this);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    } finally {
      this.rollback();
    }
  }

  rollback(): void {
    if (this.cols !== undefined) this.head.giveColumns(this.cols);
    this.cols = undefined;
    this.pending = new PendingSeries();
    this.hists = undefined;
  }
}

/** Whether a label set has a label with a value (empty values mean absent). */
function hasLabel(labels: Labels): boolean {
  for (const n in labels) if (labels[n] !== '') return true;
  return false;
}
