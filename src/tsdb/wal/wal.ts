import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileSize, listSequenced, seqName, writeAll } from '../files.js';
import { fsyncDir } from '../../util/atomic-file.js';

/** A place in the WAL: a segment number and a byte offset in it. */
export interface WalPosition {
  segment: number;
  offset: number;
}

/**
 * Write-ahead log: numbered segment files in `<data>/wal`. Every commit is one
 * write() of whole records, so a SIGKILL loses at most the commit in flight
 * (the kernel keeps what write() accepted); fsync happens at checkpoints.
 * A process never appends to a segment it did not create, because the previous
 * one may end in a torn record.
 *
 * Readers other than replay (remote write) register a low watermark with
 * `hold`: segments from it on are kept until the reader moves it on or
 * releases it, whatever checkpoints do.
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
  private readonly holds = new Map<string, number>();
  private readonly listeners = new Set<() => void>();

  constructor(readonly dir: string) {}

  segments(): Array<{ seq: number; name: string }> {
    return listSequenced(this.dir, '');
  }

  readSegment(name: string): Uint8Array {
    return readFileSync(join(this.dir, name));
  }

  /**
   * Starts segment `seq` with the records `writeInitial` puts (a checkpoint
   * snapshot), in pieces: a 100k-series snapshot is about 30 MB, which as one
   * buffer would be allocated and freed at every checkpoint. A crash leaves
   * the segment whole or absent: it is written under a temporary name
   * (removed at start-up), synced, then renamed.
   */
  startSegment(seq: number, writeInitial?: (put: (records: Uint8Array) => void) => void): void {
    this.flush();
    if (this.fd >= 0) {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = -1;
      this.olderBytes += this.segmentBytes;
    }
    const path = join(this.dir, seqName(seq));
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, 'w');
    let size = 0;
    try {
      writeInitial?.((records) => {
        writeAll(fd, records);
        size += records.length;
      });
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    fsyncDir(this.dir);
    this.fd = openSync(path, 'a');
    this.seq = seq;
    this.gen++;
    this.segmentBytes = size;
    this.notify();
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
    this.notify();
  }

  flush(): void {
    if (this.pending.length === 0 || this.fd < 0) return;
    const all = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    writeAll(this.fd, all);
    this.segmentBytes += all.length;
    this.notify();
  }

  /** The end of what is written to the files (queued records not included). */
  position(): WalPosition {
    return { segment: this.seq, offset: this.segmentBytes };
  }

  /** Keeps segments numbered `segment` and later until moved or released. */
  hold(consumer: string, segment: number): void {
    this.holds.set(consumer, segment);
  }

  release(consumer: string): void {
    this.holds.delete(consumer);
  }

  /** Calls `fn` (synchronously, keep it cheap) whenever records reach the files. Returns the unsubscribe function. */
  onWrite(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private notify(): void {
    for (const fn of this.listeners) {
      try {
        fn();
      } catch {
        // a listener's failure must not fail a commit
      }
    }
  }

  /** The oldest segment a checkpoint may keep: the current one, or an older one a reader holds. */
  lowWatermark(): number {
    let low = this.seq;
    for (const s of this.holds.values()) if (s < low) low = s;
    return low;
  }

  /** Deletes every segment before the low watermark (their content is in the checkpoint or in blocks). */
  dropOlder(): void {
    const low = this.lowWatermark();
    let kept = 0;
    for (const s of this.segments()) {
      if (s.seq < low) unlinkSync(join(this.dir, s.name));
      else if (s.seq < this.seq) kept += fileSize(join(this.dir, s.name));
    }
    this.olderBytes = kept;
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
    this.listeners.clear();
  }
}
