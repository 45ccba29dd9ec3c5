import { closeSync, fstatSync, fsyncSync, openSync } from 'node:fs';
import { ByteReader, ByteWriter } from '../bytes.js';
import { ChunkEncoding, isKnownEncoding } from '../chunk-format.js';
import { crc32c } from '../crc32c.js';
import { readAt, writeAll } from '../files.js';
import { beginRecord, endRecord, FRAME_HEADER, MAX_RECORD, readFrame, readLabels, RecordType, skipLabels, writeLabels } from '../records.js';
import type { Labels } from '../types.js';
import { SpillBuffer } from './spill.js';

/**
 * Block files (`<data>/blocks/NNNNNNNN.vtb`): immutable sets of chunks for one
 * time window, read on demand. Every part is a checksummed record (records.ts):
 *
 *   Header       magic, version
 *   data         per series: Series [ref][labels], then its Chunk records
 *                [ref][minT][maxT][count][encoding u8][bytes]. Self-describing,
 *                so a block whose index is damaged can still be recovered by a scan.
 *   index        per series one ChunkMetas record: [ref] + per chunk
 *                [offset delta][record length][minT - previous maxT][maxT - minT][count];
 *                then SeriesIndex records of up to SERIES_PER_SECTION series:
 *                [ref][labels][minT][maxT][chunks][samples][metas offset][metas length]
 *   Footer       [minT][maxT][series][chunks][samples][series index offset][series index end]
 *                [parents: count + block numbers this one was merged from]
 *   trailer      16 bytes: footer offset (u32 low, u32 high), TRAILER_MAGIC, CRC-32C of those 12 bytes
 *
 * Opening a block reads the trailer, footer and series index only. A query
 * reads a series' ChunkMetas and then just the chunk records it needs; each
 * chunk's checksum is verified, so damage costs the chunks it touches.
 */
const MAGIC = 'vigil-tsdb-block';
const VERSION = 2;
const TRAILER_MAGIC = 0x56544231; // "VTB1"
const TRAILER = 16;
const SERIES_PER_SECTION = 256;
const FLUSH_BYTES = 1 << 20;

export interface ChunkData {
  readonly minT: number;
  readonly maxT: number;
  readonly count: number;
  readonly bytes: Uint8Array;
  readonly encoding?: number;
}

export interface ChunkMeta {
  /** File offset and length of the chunk's record. */
  offset: number;
  length: number;
  minT: number;
  maxT: number;
  count: number;
}

export interface BlockSummary {
  minT: number;
  maxT: number;
  series: number;
  chunks: number;
  samples: number;
  parents: number[];
}

/** Writes a block to `path` (a temporary name; the caller renames it into place) without holding it in memory. */
export class BlockWriter {
  private readonly fd: number;
  private readonly w = new ByteWriter(FLUSH_BYTES + (1 << 16));
  private written = 0;
  private readonly metas: SpillBuffer;
  private readonly seriesIdx: SpillBuffer;
  private inSection = 0;
  private sectionStart = -1;
  readonly summary: BlockSummary;
  private finished = false;

  constructor(
    readonly path: string,
    parents: number[] = [],
  ) {
    this.fd = openSync(path, 'w');
    this.metas = new SpillBuffer(`${path}.metas.tmp`);
    this.seriesIdx = new SpillBuffer(`${path}.series.tmp`);
    this.summary = { minT: Infinity, maxT: -Infinity, series: 0, chunks: 0, samples: 0, parents };
    const rec = beginRecord(this.w, RecordType.Header);
    this.w.string(MAGIC);
    this.w.uvarint(VERSION);
    endRecord(this.w, rec);
  }

  private get pos(): number {
    return this.written + this.w.pos;
  }

  private maybeFlush(): void {
    if (this.w.pos < FLUSH_BYTES) return;
    writeAll(this.fd, this.w.result());
    this.written += this.w.pos;
    this.w.pos = 0;
  }

  /**
   * Adds one series with its chunks, in time order, not overlapping. Series
   * without chunks are skipped. Returns whether the series was written (the
   * block's series are numbered in the order written).
   */
  addSeries(labels: Labels, chunks: Iterable<ChunkData>): boolean {
    let ref = 0;
    let metaRec = -1;
    let metaStart = 0;
    let prevOff = 0;
    let prevMaxT = 0;
    let minT = Infinity;
    let maxT = -Infinity;
    let n = 0;
    let samples = 0;
    for (const c of chunks) {
      if (ref === 0) {
        ref = ++this.summary.series;
        const rec = beginRecord(this.w, RecordType.Series);
        this.w.uvarint(ref);
        writeLabels(this.w, labels);
        endRecord(this.w, rec);
        this.metas.maybeSpill();
        metaStart = this.metas.pos;
        metaRec = beginRecord(this.metas.w, RecordType.ChunkMetas);
        this.metas.w.uvarint(ref);
      }
      const off = this.pos;
      const rec = beginRecord(this.w, RecordType.Chunk);
      this.w.uvarint(ref);
      this.w.varint(c.minT);
      this.w.varint(c.maxT);
      this.w.uvarint(c.count);
      this.w.u8(c.encoding ?? ChunkEncoding.Float);
      this.w.bytes(c.bytes);
      endRecord(this.w, rec);
      const len = this.pos - off;
      const m = this.metas.w;
      m.uvarint(off - prevOff);
      m.uvarint(len);
      m.varint(c.minT - prevMaxT);
      m.uvarint(c.maxT - c.minT);
      m.uvarint(c.count);
      prevOff = off;
      prevMaxT = c.maxT;
      if (c.minT < minT) minT = c.minT;
      if (c.maxT > maxT) maxT = c.maxT;
      n++;
      samples += c.count;
      this.maybeFlush();
    }
    if (ref === 0) return false;
    endRecord(this.metas.w, metaRec);
    if (this.inSection === 0) {
      this.seriesIdx.maybeSpill();
      this.sectionStart = beginRecord(this.seriesIdx.w, RecordType.SeriesIndex);
    }
    const s = this.seriesIdx.w;
    s.uvarint(ref);
    writeLabels(s, labels);
    s.varint(minT);
    s.varint(maxT);
    s.uvarint(n);
    s.uvarint(samples);
    s.uvarint(metaStart); // relative to the index start; fixed up by the reader
    s.uvarint(this.metas.pos - metaStart);
    if (++this.inSection === SERIES_PER_SECTION) this.endSection();
    this.summary.chunks += n;
    this.summary.samples += samples;
    if (minT < this.summary.minT) this.summary.minT = minT;
    if (maxT > this.summary.maxT) this.summary.maxT = maxT;
    return true;
  }

  /** Writes `part` to the file after what is buffered. */
  private put(part: SpillBuffer): void {
    writeAll(this.fd, this.w.result());
    this.written += this.w.pos;
    this.w.pos = 0;
    part.copyTo(this.fd);
    this.written += part.pos;
    part.close();
  }

  private endSection(): void {
    if (this.inSection === 0) return;
    endRecord(this.seriesIdx.w, this.sectionStart);
    this.inSection = 0;
  }

  /** Writes the index, footer and trailer and syncs the file. */
  finish(): BlockSummary {
    if (this.finished) throw new Error('block already finished');
    this.finished = true;
    try {
      this.endSection();
      const indexStart = this.pos;
      this.put(this.metas);
      const seriesIndexOffset = this.pos;
      this.put(this.seriesIdx);
      const seriesIndexEnd = this.pos;
      const sum = this.summary;
      const footerOffset = this.pos;
      const rec = beginRecord(this.w, RecordType.Footer);
      this.w.varint(Number.isFinite(sum.minT) ? sum.minT : 0);
      this.w.varint(Number.isFinite(sum.maxT) ? sum.maxT : 0);
      this.w.uvarint(sum.series);
      this.w.uvarint(sum.chunks);
      this.w.uvarint(sum.samples);
      this.w.uvarint(indexStart);
      this.w.uvarint(seriesIndexOffset);
      this.w.uvarint(seriesIndexEnd);
      this.w.uvarint(sum.parents.length);
      for (const p of sum.parents) this.w.uvarint(p);
      endRecord(this.w, rec);
      const t = new Uint8Array(TRAILER);
      const v = new DataView(t.buffer);
      v.setUint32(0, footerOffset % 2 ** 32, true);
      v.setUint32(4, Math.floor(footerOffset / 2 ** 32), true);
      v.setUint32(8, TRAILER_MAGIC, true);
      v.setUint32(12, crc32c(t.subarray(0, 12)), true);
      this.w.ensure(TRAILER);
      this.w.buf.set(t, this.w.pos);
      this.w.pos += TRAILER;
      writeAll(this.fd, this.w.result());
      this.written += this.w.pos;
      this.w.pos = 0;
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
      this.metas.close();
      this.seriesIdx.close();
    }
    return this.summary;
  }

  /** Gives up: closes the file (the caller deletes it). */
  abort(): void {
    if (this.finished) return;
    this.finished = true;
    closeSync(this.fd);
    this.metas.close();
    this.seriesIdx.close();
  }
}

/** The series index is read in pieces of about this size (whole sections, so a bit more or less). */
const INDEX_PIECE_BYTES = 1 << 20;

/** Whether the frame at `off` of `buf` lies wholly in it (its header says how long it is). */
function wholeFrameAt(buf: Uint8Array, off: number): boolean {
  if (buf.length - off < FRAME_HEADER) return false;
  const len = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(off, true);
  return off + FRAME_HEADER + len <= buf.length;
}

/** Up to INDEX_PIECE_BYTES of the file from `pos` (less at `end`), more when the frame at `pos` is longer (up to `end`). */
function readIndexPiece(fd: number, pos: number, end: number): Uint8Array {
  const buf = readAt(fd, pos, Math.min(INDEX_PIECE_BYTES, end - pos));
  if (wholeFrameAt(buf, 0) || buf.length < FRAME_HEADER) return buf;
  const len = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(0, true);
  // A damaged length is caught by readFrame (torn, or a failed checksum).
  return pos + FRAME_HEADER + len <= end && len <= MAX_RECORD ? readAt(fd, pos, FRAME_HEADER + len) : buf;
}

/** One series of an opened block. */
export interface BlockSeriesEntry {
  labels: Labels;
  minT: number;
  maxT: number;
  chunks: number;
  samples: number;
}

export class BlockFormatError extends Error {}

/**
 * An open block: the fd, the footer and, per series, where its chunk metas
 * are (typed arrays: a few dozen bytes per series, whatever the block's size).
 */
export class BlockReader {
  readonly metaOffset: Float64Array;
  readonly metaLength: Uint32Array;
  readonly seriesMinT: Float64Array;
  readonly seriesMaxT: Float64Array;
  readonly seriesSamples: Float64Array;
  /** The store's series ref of each series here, and the same sorted for lookups (set by the store). */
  refs: Int32Array;
  private sortedRefs = new Int32Array(0);
  private sortedIdx = new Int32Array(0);
  /** Where the index starts (the data part ends) and where the series index starts. */
  indexStart = 0;
  indexMetasEnd = 0;
  private fd: number;

  private constructor(
    readonly path: string,
    readonly seq: number,
    readonly summary: BlockSummary,
    readonly bytes: number,
    fd: number,
    count: number,
  ) {
    this.fd = fd;
    this.metaOffset = new Float64Array(count);
    this.metaLength = new Uint32Array(count);
    this.seriesMinT = new Float64Array(count);
    this.seriesMaxT = new Float64Array(count);
    this.seriesSamples = new Float64Array(count);
    this.refs = new Int32Array(count);
  }

  /** Indexes `refs` (after the store filled it) for idxOf. */
  indexRefs(): void {
    const n = this.refs.length;
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => this.refs[a] - this.refs[b]);
    this.sortedIdx = order;
    this.sortedRefs = new Int32Array(n);
    for (let i = 0; i < n; i++) this.sortedRefs[i] = this.refs[order[i]];
  }

  /** This block's index of the store's series `ref`, or -1. */
  idxOf(ref: number): number {
    const a = this.sortedRefs;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid] < ref) lo = mid + 1;
      else hi = mid;
    }
    return lo < a.length && a[lo] === ref ? this.sortedIdx[lo] : -1;
  }

  /**
   * Opens a block and hands each series to `onSeries` with its index in this
   * block. Without `onSeries` the labels are stepped over, not decoded: a
   * block just written from known series (100k label sets decoded only to be
   * looked up again would be about 40 MB of garbage). Throws BlockFormatError
   * (naming what is damaged) when the trailer, footer or any series index
   * section fails its checks; the fd is closed then.
   */
  static open(path: string, seq: number, onSeries?: (idx: number, e: BlockSeriesEntry) => void): BlockReader {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size < TRAILER) throw new BlockFormatError('file too short (incomplete block)');
      const t = readAt(fd, size - TRAILER, TRAILER);
      const v = new DataView(t.buffer, t.byteOffset, TRAILER);
      if (v.getUint32(8, true) !== TRAILER_MAGIC || v.getUint32(12, true) !== crc32c(t.subarray(0, 12))) {
        throw new BlockFormatError('no valid trailer (incomplete or damaged block)');
      }
      const footerOffset = v.getUint32(0, true) + v.getUint32(4, true) * 2 ** 32;
      if (footerOffset >= size - TRAILER) throw new BlockFormatError('trailer points outside the file');
      const footerBuf = readAt(fd, footerOffset, size - TRAILER - footerOffset);
      const f = readFrame(footerBuf, 0);
      if (!f.ok || f.type !== RecordType.Footer) throw new BlockFormatError(`damaged footer (${f.ok ? 'wrong record type' : f.reason})`);
      const r = new ByteReader(f.payload);
      r.u8();
      const summary: BlockSummary = { minT: r.varint(), maxT: r.varint(), series: r.uvarint(), chunks: r.uvarint(), samples: r.uvarint(), parents: [] };
      const indexStart = r.uvarint();
      const siStart = r.uvarint();
      const siEnd = r.uvarint();
      const np = r.uvarint();
      if (np > 100_000) throw new BlockFormatError('implausible footer');
      for (let i = 0; i < np; i++) summary.parents.push(r.uvarint());
      if (!(indexStart <= siStart && siStart <= siEnd && siEnd <= footerOffset)) throw new BlockFormatError('footer offsets out of order');
      const b = new BlockReader(path, seq, summary, size, fd, summary.series);
      b.indexStart = indexStart;
      b.indexMetasEnd = siStart;
      // Read in pieces of whole sections: the index of 100k series is about 12 MB.
      let idx = 0;
      let pos = siStart;
      let si: Uint8Array = new Uint8Array(0);
      let off = 0;
      while (pos + off < siEnd) {
        if (off >= si.length || !wholeFrameAt(si, off)) {
          pos += off;
          si = readIndexPiece(fd, pos, siEnd);
          off = 0;
        }
        const sec = readFrame(si, off);
        if (!sec.ok || sec.type !== RecordType.SeriesIndex) {
          throw new BlockFormatError(`damaged series index section at byte ${pos + off} (${sec.ok ? 'wrong record type' : sec.reason})`);
        }
        const sr = new ByteReader(sec.payload);
        sr.u8();
        while (sr.remaining > 0) {
          if (idx >= summary.series) throw new BlockFormatError('more series in the index than the footer counts');
          sr.uvarint();
          let labels: Labels | undefined;
          if (onSeries) labels = Object.freeze(readLabels(sr));
          else skipLabels(sr);
          const minT = sr.varint();
          const maxT = sr.varint();
          const chunks = sr.uvarint();
          const samples = sr.uvarint();
          b.metaOffset[idx] = indexStart + sr.uvarint();
          b.metaLength[idx] = sr.uvarint();
          b.seriesMinT[idx] = minT;
          b.seriesMaxT[idx] = maxT;
          b.seriesSamples[idx] = samples;
          if (onSeries) onSeries(idx, { labels: labels!, minT, maxT, chunks, samples });
          idx++;
        }
        off = sec.next;
      }
      if (idx !== summary.series) throw new BlockFormatError(`series index holds ${idx} series, the footer counts ${summary.series}`);
      return b;
    } catch (err) {
      closeSync(fd);
      if (err instanceof BlockFormatError) throw err;
      throw new BlockFormatError((err as Error).message);
    }
  }

  /** Reads the whole chunk-metas region (for queries touching most series of the block). */
  readAllMetas(): Uint8Array {
    return readAt(this.fd, this.indexStart, this.indexMetasEnd - this.indexStart);
  }

  /**
   * The chunk metas of series `idx`, from `region` (readAllMetas) when given.
   * Null when its record is damaged (the series' chunks in this block are lost).
   */
  metas(idx: number, region?: Uint8Array): ChunkMeta[] | null {
    const len = this.metaLength[idx];
    let buf: Uint8Array;
    let at = 0;
    if (region) {
      buf = region;
      at = this.metaOffset[idx] - this.indexStart;
    } else buf = readAt(this.fd, this.metaOffset[idx], len);
    const f = readFrame(buf.subarray(0, at + len), at);
    if (!f.ok || f.type !== RecordType.ChunkMetas) return null;
    const r = new ByteReader(f.payload);
    r.u8();
    r.uvarint();
    const out: ChunkMeta[] = [];
    let off = 0;
    let prevMaxT = 0;
    try {
      while (r.remaining > 0) {
        off += r.uvarint();
        const length = r.uvarint();
        const minT = prevMaxT + r.varint();
        const maxT = minT + r.uvarint();
        out.push({ offset: off, length, minT, maxT, count: r.uvarint() });
        prevMaxT = maxT;
      }
    } catch {
      return null;
    }
    return out;
  }

  /** Reads the records of consecutive chunks `metas` in one read. */
  readRun(metas: readonly ChunkMeta[]): Uint8Array {
    const first = metas[0];
    const last = metas[metas.length - 1];
    return readAt(this.fd, first.offset, last.offset + last.length - first.offset);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  get isOpen(): boolean {
    return this.fd >= 0;
  }
}

/** The chunk in the record at `at` of `buf` (from readRun), or the reason it is unusable. */
export function parseChunkRecord(buf: Uint8Array, at: number, meta: ChunkMeta): ChunkData | string {
  const f = readFrame(buf, at);
  if (!f.ok) return f.reason;
  if (f.type !== RecordType.Chunk) return 'not a chunk record';
  try {
    const r = new ByteReader(f.payload);
    r.u8();
    r.uvarint();
    const minT = r.varint();
    const maxT = r.varint();
    const count = r.uvarint();
    const encoding = r.u8();
    if (!isKnownEncoding(encoding)) return `unknown chunk encoding ${encoding}`;
    if (minT !== meta.minT || maxT !== meta.maxT || count !== meta.count) return 'chunk does not match its index entry';
    return { minT, maxT, count, encoding, bytes: r.bytes() };
  } catch (err) {
    return (err as Error).message;
  }
}

export interface ScanProblem {
  offset: number;
  reason: string;
}

/**
 * Walks the data part of a block file record by record, for recovery and
 * checks: `onChunk` gets every intact chunk with its series' labels. A damaged
 * record is skipped when its length field is plausible; otherwise the scan
 * stops there. Reads in windows, never the whole file at once.
 */
export function scanBlock(
  path: string,
  onChunk: (labels: Labels, c: ChunkData) => void,
  onProblem: (p: ScanProblem) => void,
): { complete: boolean } {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const refs = new Map<number, Labels>();
    let off = 0;
    let sawHeader = false;
    const WINDOW = 4 << 20;
    while (off < size) {
      let buf = readAt(fd, off, Math.min(WINDOW, size - off));
      let p = 0;
      while (p < buf.length) {
        const f = readFrame(buf, p);
        if (!f.ok && f.torn && off + buf.length < size) {
          if (p > 0) break;
          const len = buf.length >= 4 ? new DataView(buf.buffer, buf.byteOffset).getUint32(0, true) : 0;
          if (len > 0 && len <= MAX_RECORD && off + FRAME_HEADER + len <= size && FRAME_HEADER + len > buf.length) {
            buf = readAt(fd, off, FRAME_HEADER + len);
            continue;
          }
        }
        if (!f.ok) {
          onProblem({ offset: off + p, reason: f.reason });
          if (f.next === undefined) return { complete: false };
          p = f.next;
          continue;
        }
        const r = new ByteReader(f.payload);
        const type = r.u8();
        try {
          if (!sawHeader) {
            if (type !== RecordType.Header || r.string() !== MAGIC) throw new Error('not a block file (no header)');
            const version = r.uvarint();
            if (version !== VERSION) throw new Error(`unsupported block version ${version}`);
            sawHeader = true;
          } else if (type === RecordType.Series) {
            const ref = r.uvarint();
            refs.set(ref, Object.freeze(readLabels(r)));
          } else if (type === RecordType.Chunk) {
            const ref = r.uvarint();
            const labels = refs.get(ref);
            if (!labels) throw new Error(`chunk for unknown series ref ${ref}`);
            const minT = r.varint();
            const maxT = r.varint();
            const count = r.uvarint();
            const encoding = r.u8();
            if (!isKnownEncoding(encoding)) throw new Error(`unknown chunk encoding ${encoding}`);
            if (count === 0 || minT > maxT) throw new Error('implausible chunk bounds');
            onChunk(labels, { minT, maxT, count, encoding, bytes: r.bytes().slice() });
          } else if (type === RecordType.ChunkMetas || type === RecordType.SeriesIndex || type === RecordType.Footer) {
            return { complete: true };
          } else throw new Error(`unknown record type ${type}`);
        } catch (err) {
          onProblem({ offset: off + p, reason: (err as Error).message });
          if (!sawHeader) return { complete: false };
        }
        p = f.next;
      }
      if (p === 0) break;
      off += p;
    }
    return { complete: false };
  } finally {
    closeSync(fd);
  }
}
