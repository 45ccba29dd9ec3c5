import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ByteWriter } from './bytes.js';
import { writeFileAtomicSync } from '../util/atomic-file.js';
import { ChunkAppender } from './chunk.js';
import type { Head } from './head.js';
import type { Logger } from '../logger.js';
import { ByteReader } from './bytes.js';
import { readFrame, RecordType, resync } from './records.js';
import type { MemSeries } from './series.js';
import { ChunkEncoding } from './chunk-format.js';
import { decodeHistogramChunk } from './histogram-chunk.js';
import { HistogramHead } from './histogram-head.js';
import {
  readHeadChunkRecord,
  readHistogramSamplesRecord,
  readSamplesRecord,
  readSeriesRecord,
  writeHeadChunkRecord,
  writeSeriesRecord,
} from './wal/records.js';

/**
 * The head's side of the WAL: replay at start-up, and the checkpoint that
 * starts a new segment with a snapshot of the open chunks so older segments
 * can go (unless a WAL reader holds them).
 */

/** Replays every segment in order into the head; returns the last segment number (0 when none). */
export function replayWal(head: Head, logger: Logger): number {
  const wal = head.wal;
  const metrics = head.metrics;
  const all = wal.segments();
  // Segments before the last checkpoint stay only while a WAL reader holds
  // them; their samples are in blocks and the checkpoint's snapshot, whose
  // chunks replaying them first would make look already loaded.
  const checkpoint = readCheckpointMarker(wal.dir);
  const segments = all.some((s) => s.seq === checkpoint) ? all.filter((s) => s.seq >= checkpoint) : all;
  let unknownRefs = 0;
  let olderBytes = 0;
  const report = (segment: string, offset: number, problem: string, torn: boolean, bytesSkipped = 0): void => {
    metrics?.walCorruptions.inc();
    const detail = { segment, offset, problem, bytesSkipped };
    if (torn) logger.warn(detail, 'tsdb: WAL ends in a torn record (unclean shutdown); the partial commit is dropped');
    else logger.error(detail, 'tsdb: damaged WAL record skipped');
  };
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    // Refs are per segment: each segment declares the series it uses.
    const refs = new Map<number, MemSeries>();
    let data: Uint8Array;
    try {
      data = wal.readSegment(seg.name);
    } catch (err) {
      metrics?.walCorruptions.inc();
      logger.error({ segment: seg.name, err: (err as Error).message }, 'tsdb: cannot read WAL segment, skipping it');
      continue;
    }
    olderBytes += data.length;
    const onRecord = (type: number, r: ByteReader): void => {
      switch (type) {
        case RecordType.Series: {
          const { ref, labels } = readSeriesRecord(r);
          refs.set(ref, head.index.getOrCreate(labels));
          return;
        }
        case RecordType.HeadChunk: {
          const rec = readHeadChunkRecord(r);
          const s = refs.get(rec.ref);
          if (!s) {
            unknownRefs++;
            return;
          }
          if (head.opts.walOnly || rec.count === 0) return;
          if (rec.encoding === ChunkEncoding.FloatHistogram) {
            const { t, points } = decodeHistogramChunk(rec.bytes);
            if (t.length === 0 || t[0] <= s.lastT) return;
            s.cutHead();
            s.cutHist();
            const hh = (s.hist ??= new HistogramHead());
            for (let k = 0; k < t.length; k++) {
              const p = points[k];
              hh.push(t[k], p);
              if (p !== 'stale') hh.last = p;
            }
            head.samples += t.length;
            if (hh.maxT > head.maxTime) head.maxTime = hh.maxT;
            s.lastT = hh.maxT;
            s.lastV = NaN;
            s.lastStale = points[points.length - 1] === 'stale';
            s.lastFromBlock = false;
            return;
          }
          const chunk = ChunkAppender.restore(rec.bytes.slice(), rec.count);
          // Skip snapshots whose samples are already here (from a block or an earlier segment).
          if (chunk.minT <= s.lastT) return;
          s.cutHead();
          s.head = chunk;
          head.samples += rec.count;
          if (chunk.maxT > head.maxTime) head.maxTime = chunk.maxT;
          s.refreshLast();
          return;
        }
        case RecordType.Samples: {
          readSamplesRecord(r, (ref, t, v, stale) => {
            const s = refs.get(ref);
            if (!s) {
              unknownRefs++;
              return;
            }
            if (t <= s.lastT) return;
            head.appendSample(s, t, v, stale);
            head.samples++;
          });
          return;
        }
        case RecordType.HistogramSamples: {
          readHistogramSamplesRecord(r, (ref, t, h) => {
            const s = refs.get(ref);
            if (!s) {
              unknownRefs++;
              return;
            }
            if (t <= s.lastT) return;
            head.appendHistogramSample(s, t, h);
            head.samples++;
          });
          return;
        }
        default:
          throw new Error(`unknown WAL record type ${type}`);
      }
    };
    // Damage costs the damaged records only: reading resumes at the next intact record.
    let off = 0;
    while (off < data.length) {
      const f = readFrame(data, off);
      if (f.ok) {
        const r = new ByteReader(f.payload);
        r.u8();
        try {
          onRecord(f.type, r);
        } catch (err) {
          report(seg.name, off, `undecodable record: ${(err as Error).message}`, false);
        }
        off = f.next;
        continue;
      }
      const last = i === segments.length - 1;
      // A failed checksum may come from a damaged length too: find the next record rather than trust it.
      const next = resync(data, off);
      report(seg.name, off, f.reason, last && f.torn && next === undefined, next === undefined ? data.length - off : next - off);
      if (next === undefined) break;
      off = next;
    }
  }
  if (unknownRefs) {
    metrics?.walCorruptions.inc();
    logger.error({ samples: unknownRefs }, 'tsdb: WAL samples for series never declared; skipped');
  }
  wal.setOlderBytes(olderBytes);
  return all.length ? all[all.length - 1].seq : 0;
}

/** Names the segment the last checkpoint started (hidden file: segment listings skip it). */
const CHECKPOINT_MARKER = '.checkpoint';

function readCheckpointMarker(dir: string): number {
  try {
    const n = Number(readFileSync(join(dir, CHECKPOINT_MARKER), 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

/** The snapshot goes to the segment file in pieces of about this size (see Wal.startSegment). */
const SNAPSHOT_PIECE_BYTES = 1 << 20;

/** Starts a new segment holding the open head chunks, then deletes the segments no one needs. */
export function rotateWal(head: Head): void {
  const snap: MemSeries[] = [];
  head.wal.startSegment(head.wal.seq + 1, (put) => {
    const w = new ByteWriter(SNAPSHOT_PIECE_BYTES + (1 << 16));
    for (const s of head.index.byRef.values()) {
      const h = s.head;
      const hh = s.hist;
      if (hh !== undefined && hh.count > 0) {
        writeSeriesRecord(w, s.ref, s.labels);
        writeHeadChunkRecord(w, s.ref, hh.count, hh.bytes(), ChunkEncoding.FloatHistogram);
        snap.push(s);
      } else if (h && h.count > 0) {
        writeSeriesRecord(w, s.ref, s.labels);
        writeHeadChunkRecord(w, s.ref, h.count, h.w.bytes());
        snap.push(s);
      }
      if (w.pos >= SNAPSHOT_PIECE_BYTES) {
        put(w.result());
        w.pos = 0;
      }
    }
    if (w.pos > 0) put(w.result());
  });
  for (const s of snap) s.walGen = head.wal.gen;
  writeFileAtomicSync(join(head.wal.dir, CHECKPOINT_MARKER), String(head.wal.seq));
  head.wal.dropOlder();
}
