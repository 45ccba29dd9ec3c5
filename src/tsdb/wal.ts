import { closeSync, fsyncSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileSize, listSequenced, seqName, writeAll, writeFileAtomic } from './files.js';

/**
 * Write-ahead log: numbered segment files in `<data>/wal`. Every commit is one
 * write() of whole records, so a SIGKILL loses at most the commit in flight
 * (the kernel keeps what write() accepted); fsync happens at checkpoints.
 * A process never appends to a segment it did not create, because the previous
 * one may end in a torn record.
 */
export class Wal {
  private fd = -1;
  seq = 0;
  /** Bumped per segment; series remember in which generation their labels were logged. */
  gen = 0;
  private segmentBytes = 0;
  private olderBytes = 0;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(readonly dir: string) {}

  segments(): Array<{ seq: number; name: string }> {
    return listSequenced(this.dir, '');
  }

  readSegment(name: string): Uint8Array {
    return readFileSync(join(this.dir, name));
  }

  /** Starts segment `seq` holding `initial` (a checkpoint snapshot), written atomically. */
  startSegment(seq: number, initial: Uint8Array): void {
    this.flush();
    if (this.fd >= 0) {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.olderBytes += this.segmentBytes;
    }
    writeFileAtomic(this.dir, seqName(seq), initial);
    this.fd = openSync(join(this.dir, seqName(seq)), 'a');
    this.seq = seq;
    this.gen++;
    this.segmentBytes = initial.length;
  }

  /** Appends records now, or queues them when the WAL is flushed on a timer. */
  write(buf: Uint8Array, buffered: boolean): void {
    if (buffered) {
      this.pending.push(buf.slice());
      this.pendingBytes += buf.length;
      return;
    }
    this.flush();
    writeAll(this.fd, buf);
    this.segmentBytes += buf.length;
  }

  flush(): void {
    if (this.pending.length === 0 || this.fd < 0) return;
    const all = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    writeAll(this.fd, all);
    this.segmentBytes += all.length;
  }

  /**
   * Deletes every segment before the current one (their content is in the
   * checkpoint), except those from `keepFrom` on: remote write still reads them.
   */
  dropOlder(keepFrom = Infinity): void {
    const below = Math.min(this.seq, keepFrom);
    for (const s of this.segments()) {
      if (s.seq < below) unlinkSync(join(this.dir, s.name));
    }
    this.olderBytes = 0;
  }

  setOlderBytes(n: number): void {
    this.olderBytes = n;
  }

  size(): number {
    return this.olderBytes + this.segmentBytes + this.pendingBytes;
  }

  currentSegmentBytes(): number {
    return this.segmentBytes;
  }

  close(): void {
    this.flush();
    if (this.fd >= 0) {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  static segmentSize(dir: string, name: string): number {
    return fileSize(join(dir, name));
  }
}
