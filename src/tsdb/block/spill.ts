import { closeSync, openSync, readSync, unlinkSync } from 'node:fs';
import { ByteWriter } from '../bytes.js';
import { writeAll } from '../files.js';

/** Buffered bytes beyond this go to the spill file (at the next record boundary). */
const SPILL_BYTES = 1 << 20;

/**
 * A part of a block written while the data part is (the chunk metas, the
 * series index) and appended to the block at the end. Held in one growing
 * buffer, a 100k-series index is about 12 MB, 30 MB with its doublings; past
 * 1 MiB it goes to a temporary file beside the block instead (`<path>`, named
 * to end in `.tmp` so start-up removes one a crash left).
 */
export class SpillBuffer {
  /** Records are written here; `maybeSpill` only between records (endRecord patches the buffer). */
  readonly w = new ByteWriter(1 << 16);
  private fd = -1;
  private spilled = 0;

  constructor(private readonly path: string) {}

  /** Bytes written so far. */
  get pos(): number {
    return this.spilled + this.w.pos;
  }

  maybeSpill(): void {
    if (this.w.pos >= SPILL_BYTES) this.spill();
  }

  private spill(): void {
    if (this.fd < 0) this.fd = openSync(this.path, 'w+');
    writeAll(this.fd, this.w.result());
    this.spilled += this.w.pos;
    this.w.pos = 0;
  }

  /** Appends all bytes written to `out` (a file descriptor), in pieces of at most 1 MiB. */
  copyTo(out: number): void {
    if (this.fd < 0) {
      writeAll(out, this.w.result());
      return;
    }
    this.spill();
    // One piece buffer, reused: the file is read back through it.
    const piece = this.w.buf.length >= SPILL_BYTES ? this.w.buf : new Uint8Array(SPILL_BYTES);
    for (let off = 0; off < this.spilled; ) {
      const n = readSync(this.fd, piece, 0, Math.min(piece.length, this.spilled - off), off);
      if (n === 0) throw new Error(`spill file ${this.path} ends early`);
      writeAll(out, piece.subarray(0, n));
      off += n;
    }
  }

  /** Removes the spill file. */
  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}
