/**
 * Reading the WAL from outside the store (remote write, agent mode).
 *
 * Usage, for a consumer that ships samples elsewhere:
 *
 *   const reader = new WalReader(db.walDir);
 *   let pos = reader.end();                 // or reader.start() to replay what is kept
 *   db.holdWal('remote-a', pos.segment);    // segments >= pos.segment survive checkpoints
 *   const stop = db.onWalWrite(() => wake()); // or poll reader.read() on a timer
 *   // loop:
 *   const { records, next } = reader.read(pos);
 *   for (const r of records) ...            // 'series' maps ref -> labels; 'samples' use those refs
 *   pos = next;
 *   db.holdWal('remote-a', pos.segment);    // let older segments go
 *   // when done: stop(); db.releaseWal('remote-a');
 *
 * Semantics:
 * - Refs are scoped to a segment: every segment declares (a 'series' record)
 *   each series before its first sample in that segment, so a consumer keeps
 *   one ref -> labels map and lets later declarations overwrite earlier ones.
 *   A restarted store numbers series anew, which is why the scope matters.
 * - 'snapshot' records open a segment written by a checkpoint: the samples of
 *   the open head chunks, which earlier segments logged already. A consumer
 *   following the WAL skips them; one starting cold may use them.
 * - A torn record at the end of the newest segment (a commit being written, or
 *   the tail a crash left) is not returned and not reported: `next` stays
 *   before it, so the next call returns it once complete. Damage elsewhere
 *   (checksum mismatch, torn end of an older segment) is skipped and listed in
 *   `damage`; the reader goes on with the next record or segment.
 * - A position in a segment that no longer exists (deleted before a hold was
 *   registered) moves to the oldest segment after it; the lost segment numbers
 *   are listed in `missing`.
 */
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { ByteReader } from '../bytes.js';
import { ChunkIterator } from '../chunk.js';
import { fileSize, listSequenced, readAt, readOn } from '../files.js';
import { FRAME_HEADER, MAX_RECORD, readFrame, RecordType, resync } from '../records.js';
import type { Labels } from '../types.js';
import { ChunkEncoding } from '../chunk-format.js';
import type { HistogramPoint } from '../histogram-chunk.js';
import { readHeadChunkRecord, readHistogramSamplesRecord, readSamplesRecord, readSeriesRecord } from './records.js';
import type { WalPosition } from './wal.js';

export type { WalPosition } from './wal.js';

export interface WalSample {
  ref: number;
  /** Unix ms. */
  t: number;
  /** NaN for a staleness marker. */
  v: number;
  stale: boolean;
}

/** A native histogram sample, or ('stale') a marker ending a histogram series (older WALs log those as float markers in 'samples'). */
export interface WalHistogramSample {
  ref: number;
  t: number;
  h: HistogramPoint;
}

export type WalRecord =
  | { type: 'series'; segment: number; ref: number; labels: Labels }
  | { type: 'samples'; segment: number; samples: WalSample[] }
  | { type: 'histograms'; segment: number; samples: WalHistogramSample[] }
  | { type: 'snapshot'; segment: number; ref: number; samples: WalSample[] };

export interface WalDamage {
  segment: number;
  offset: number;
  reason: string;
}

export interface WalReadResult {
  records: WalRecord[];
  /** Where the next read continues. */
  next: WalPosition;
  damage: WalDamage[];
  missing: number[];
}

/** Called by `WalReader.scan` for each intact record. */
export type RecordVisitor = (segment: number, offset: number, payload: Uint8Array, damage: WalDamage[]) => void;

export interface WalSegmentInfo {
  segment: number;
  name: string;
  size: number;
}

const MIN_READ = 64 * 1024;

/** Segments in the WAL directory, oldest first. */
export function listWalSegments(walDir: string): WalSegmentInfo[] {
  return listSequenced(walDir, '').map(({ seq, name }) => ({ segment: seq, name, size: fileSize(join(walDir, name)) }));
}

export class WalReader {
  constructor(readonly walDir: string) {}

  segments(): WalSegmentInfo[] {
    return listWalSegments(this.walDir);
  }

  /** The start of the oldest segment kept. */
  start(): WalPosition {
    const segs = this.segments();
    return { segment: segs.length ? segs[0].segment : 0, offset: 0 };
  }

  /** The end of what is written now: reading from here returns only what comes later. */
  end(): WalPosition {
    const segs = this.segments();
    const last = segs[segs.length - 1];
    return last ? { segment: last.segment, offset: last.size } : { segment: 0, offset: 0 };
  }

  /**
   * Whole records from `from` on, up to about `maxBytes` of them (at least one
   * record when there is one), in write order.
   */
  read(from: WalPosition, maxBytes = 16 * 1024 * 1024): WalReadResult {
    const records: WalRecord[] = [];
    const r = this.scan(from, maxBytes, (segment, offset, payload, damage) => this.decode(segment, offset, payload, records, damage));
    return { records, ...r };
  }

  /**
   * The framing of `read` without decoding: `visit` gets each intact
   * record's payload (type byte first) and the list to report undecodable
   * ones in. For consumers that decode only what they need, without objects per sample.
   */
  scan(from: WalPosition, maxBytes: number, visit: RecordVisitor): Omit<WalReadResult, 'records'> {
    const out: Omit<WalReadResult, 'records'> = { next: { ...from }, damage: [], missing: [] };
    const segs = this.segments();
    let pos = { ...from };
    let budget = maxBytes;
    for (;;) {
      const i = segs.findIndex((s) => s.segment >= pos.segment);
      if (i < 0) break;
      const seg = segs[i];
      if (seg.segment > pos.segment) {
        for (let m = Math.max(1, pos.segment); m < seg.segment; m++) out.missing.push(m);
        pos = { segment: seg.segment, offset: 0 };
      }
      const newest = i === segs.length - 1;
      const r = this.readSegment(seg, pos.offset, newest, budget, out.damage, visit);
      pos = { segment: seg.segment, offset: r.offset };
      budget -= r.bytes;
      if (r.stopped || budget <= 0 || newest) break;
      pos = { segment: segs[i + 1].segment, offset: 0 };
    }
    out.next = pos;
    return out;
  }

  /** Reads records of one segment from `offset`; `stopped` means "do not go on to the next segment now". */
  private readSegment(
    seg: WalSegmentInfo,
    offset: number,
    newest: boolean,
    budget: number,
    damage: WalDamage[],
    visit: RecordVisitor,
  ): { offset: number; bytes: number; stopped: boolean } {
    const path = join(this.walDir, seg.name);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return { offset, bytes: 0, stopped: false }; // deleted meanwhile: the next call moves on
    }
    const size = fileSize(path);
    let off = offset;
    let used = 0;
    try {
      while (off < size && used < budget) {
        let buf = readAt(fd, off, Math.min(size - off, Math.max(budget - used, MIN_READ)));
        let p = 0;
        while (p < buf.length && used < budget) {
          const f = readFrame(buf, p);
          if (f.ok) {
            visit(seg.segment, off + p, f.payload, damage);
            used += f.next - p;
            p = f.next;
            continue;
          }
          if (f.torn && off + buf.length < size) {
            if (p > 0) break; // read on from this record
            const len = buf.length >= 4 ? new DataView(buf.buffer, buf.byteOffset).getUint32(0, true) : 0;
            if (len > 0 && len <= MAX_RECORD && off + FRAME_HEADER + len <= size) {
              // A record longer than the read (a 100k-series scrape is one 1.3 MB record): only its rest is read.
              buf = readOn(fd, off, buf, FRAME_HEADER + len);
              continue;
            }
          }
          if (newest && (f.torn || f.next === undefined)) return { offset: off + p, bytes: used, stopped: true };
          damage.push({ segment: seg.segment, offset: off + p, reason: f.reason });
          // A failed checksum may come from a damaged length too: find the next record rather than trust it.
          const next = resync(buf, p);
          if (next === undefined) return { offset: size, bytes: used, stopped: false };
          p = next;
        }
        off += p;
        if (p === 0) break;
      }
    } finally {
      closeSync(fd);
    }
    return { offset: off, bytes: used, stopped: off < size };
  }

  private decode(segment: number, offset: number, payload: Uint8Array, records: WalRecord[], damage: WalDamage[]): void {
    const r = new ByteReader(payload);
    const type = r.u8();
    try {
      switch (type) {
        case RecordType.Series: {
          const { ref, labels } = readSeriesRecord(r);
          records.push({ type: 'series', segment, ref, labels });
          return;
        }
        case RecordType.Samples: {
          const samples: WalSample[] = [];
          readSamplesRecord(r, (ref, t, v, stale) => samples.push({ ref, t, v, stale }));
          records.push({ type: 'samples', segment, samples });
          return;
        }
        case RecordType.HeadChunk: {
          const { ref, count, bytes, encoding } = readHeadChunkRecord(r);
          // Open histogram chunks' samples were logged as 'histograms' records already.
          if (encoding === ChunkEncoding.FloatHistogram) return;
          const samples: WalSample[] = [];
          const it = new ChunkIterator(bytes, count);
          while (it.next()) samples.push({ ref, t: it.t, v: it.v, stale: it.stale });
          records.push({ type: 'snapshot', segment, ref, samples });
          return;
        }
        case RecordType.HistogramSamples: {
          const samples: WalHistogramSample[] = [];
          readHistogramSamplesRecord(r, (ref, t, h) => samples.push({ ref, t, h }));
          records.push({ type: 'histograms', segment, samples });
          return;
        }
        default:
          damage.push({ segment, offset, reason: `unknown record type ${type}` });
      }
    } catch (err) {
      damage.push({ segment, offset, reason: `undecodable record: ${(err as Error).message}` });
    }
  }
}
