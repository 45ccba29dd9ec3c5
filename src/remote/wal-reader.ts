/**
 * Reads samples out of the embedded store's write-ahead log (`<data>/wal`),
 * from a position (segment number, byte offset at a record boundary), so the
 * remote-write queue sends what was durably appended and can resume after a
 * restart. Series records name the labels of the refs that samples use; each
 * segment declares every ref it uses, so resuming mid-segment first re-reads
 * the declarations before the position. Head-chunk records are snapshots of
 * samples already logged in earlier segments and are skipped.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { listSequenced } from '../tsdb/files.js';
import { readLabels, readRecords, RecordType } from '../tsdb/records.js';
import type { Labels } from '../tsdb/types.js';

export interface WalPosition {
  segment: number;
  offset: number;
}

export interface WalSample {
  labels: Labels;
  t: number;
  /** NaN with `stale` for a staleness marker. */
  v: number;
  stale: boolean;
}

export interface ReadResult {
  samples: WalSample[];
  next: WalPosition;
  /** Set when data was skipped: a damaged record, or segments deleted before they were read. */
  skipped?: string;
}

const HEADER = 8;

export class WalReader {
  private readonly refs = new Map<number, Labels>();
  /** Segment whose series declarations before the read position are known. */
  private declaredSegment = -1;

  constructor(readonly dir: string) {}

  segments(): number[] {
    if (!existsSync(this.dir)) return [];
    return listSequenced(this.dir, '').map((s) => s.seq);
  }

  /** Where a reader with no saved position starts: the end of the newest segment. */
  tail(): WalPosition {
    const segs = this.segments();
    if (segs.length === 0) return { segment: 0, offset: 0 };
    const last = segs[segs.length - 1];
    return { segment: last, offset: this.size(last) };
  }

  private path(seq: number): string {
    return join(this.dir, String(seq).padStart(8, '0'));
  }

  private size(seq: number): number {
    let fd = -1;
    try {
      fd = openSync(this.path(seq), 'r');
      return fstatSync(fd).size;
    } catch {
      return 0;
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }

  /**
   * Reads whole records from `pos` until about `maxBytes` were consumed or the
   * WAL's end. Returns the samples and the position after the last record read.
   */
  read(pos: WalPosition, maxBytes = 4 << 20, until?: WalPosition): ReadResult {
    const segs = this.segments();
    let skipped: string | undefined;
    let { segment, offset } = pos;
    if (segs.length === 0) return { samples: [], next: pos };
    if (!segs.includes(segment)) {
      const later = segs.find((s) => s > segment);
      if (later === undefined) return { samples: [], next: pos };
      if (segment !== 0 || offset !== 0) skipped = `WAL segment ${segment} is gone; resuming at segment ${later}`;
      segment = later;
      offset = 0;
    }
    const samples: WalSample[] = [];
    let budget = maxBytes;
    for (;;) {
      const isLast = segment === segs[segs.length - 1] || (until !== undefined && segment >= until.segment);
      if (until && segment === until.segment) budget = Math.min(budget, until.offset - offset);
      if (budget <= 0) break;
      if (this.declaredSegment !== segment) this.declare(segment, offset);
      const r = this.readSegment(segment, offset, budget, samples);
      offset = r.offset;
      budget -= r.consumed;
      if (r.problem) {
        // A damaged or torn record: in the newest segment it may still be being
        // written; in an older one nothing follows it, so move on.
        if (isLast) break;
        skipped = `WAL segment ${segment}: ${r.problem} at offset ${offset}; rest of the segment skipped`;
      } else if (!r.atEnd || isLast) break;
      const next = segs.find((s) => s > segment);
      if (next === undefined) break;
      segment = next;
      offset = 0;
      if (budget <= 0) break;
    }
    return { samples, next: { segment, offset }, skipped };
  }

  /** Learns the series declared in `segment` before `upTo`. */
  private declare(segment: number, upTo: number): void {
    // Every segment declares the refs it uses, so older declarations can go.
    this.refs.clear();
    this.declaredSegment = segment;
    if (upTo === 0) return;
    const buf = this.readBytes(segment, 0, upTo);
    readRecords(buf, (type, r) => {
      if (type === RecordType.Series) {
        const ref = r.uvarint();
        this.refs.set(ref, Object.freeze(readLabels(r)));
      }
    });
  }

  private readBytes(segment: number, from: number, length: number): Buffer {
    let fd = -1;
    try {
      fd = openSync(this.path(segment), 'r');
      const size = fstatSync(fd).size;
      const n = Math.max(0, Math.min(length, size - from));
      const buf = Buffer.allocUnsafe(n);
      let got = 0;
      while (got < n) {
        const k = readSync(fd, buf, got, n - got, from + got);
        if (k === 0) break;
        got += k;
      }
      return buf.subarray(0, got);
    } catch {
      return Buffer.alloc(0);
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }

  private readSegment(
    segment: number,
    offset: number,
    budget: number,
    out: WalSample[],
  ): { offset: number; consumed: number; atEnd: boolean; problem?: string } {
    const size = this.size(segment);
    if (offset >= size) return { offset, consumed: 0, atEnd: true };
    let want = Math.min(size - offset, Math.max(budget, HEADER));
    let buf = this.readBytes(segment, offset, want);
    // A record larger than the budget is read whole.
    if (buf.length >= HEADER) {
      const len = buf.readUInt32LE(0);
      if (HEADER + len > buf.length && offset + HEADER + len <= size) {
        want = HEADER + len;
        buf = this.readBytes(segment, offset, want);
      }
    }
    const problem = readRecords(buf, (type, r) => {
      if (type === RecordType.Series) {
        const ref = r.uvarint();
        this.refs.set(ref, Object.freeze(readLabels(r)));
      } else if (type === RecordType.Samples) {
        const n = r.uvarint();
        let t = 0;
        for (let k = 0; k < n; k++) {
          const x = r.uvarint();
          const stale = x % 2 === 1;
          const ref = Math.floor(x / 2);
          t += r.varint();
          const v = stale ? NaN : r.f64();
          const labels = this.refs.get(ref);
          if (labels) out.push({ labels, t, v, stale });
        }
      }
    });
    if (problem) {
      const to = offset + problem.offset;
      // The chunk read ended inside a record the file holds whole: read it next time.
      if (offset + buf.length < size && /file ends inside/.test(problem.reason)) return { offset: to, consumed: problem.offset, atEnd: false };
      return { offset: to, consumed: problem.offset, atEnd: false, problem: problem.reason };
    }
    return { offset: offset + buf.length, consumed: buf.length, atEnd: offset + buf.length >= size };
  }
}
