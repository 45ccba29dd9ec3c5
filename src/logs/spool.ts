import { mkdir, open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonState, writeFileAtomic } from '../util/atomic-file.js';
import type { LogEvent } from './event.js';

const SEGMENT_RE = /^(\d{12})\.spool$/;

export interface SpoolOptions {
  dir: string;
  /** A new segment starts past this size, so drained ones can be deleted. */
  segmentBytes?: number;
}

export interface SpoolBatch {
  events: LogEvent[];
  /** Marks the batch delivered: advances the persisted read cursor. */
  commit(): Promise<void>;
}

interface Cursor {
  seg: number;
  off: number;
}

/**
 * Disk spool: append-only NDJSON segments of `id<TAB>json` lines in the data
 * directory, read in order behind a persisted cursor. Appends are fsync'd
 * before their events are acknowledged, so spooled events survive a SIGKILL;
 * a re-read after a crash only re-sends events whose _id makes them harmless.
 */
export class DiskSpool {
  private readonly dir: string;
  private readonly segmentBytes: number;
  private segments: number[] = [];
  private sizes = new Map<number, number>();
  private cursor: Cursor = { seg: 0, off: 0 };
  private writeFh?: FileHandle;
  private writeSeg = 0;
  private writeChain: Promise<void> = Promise.resolve();
  private pendingWrites = 0;
  private pendingBytesN = 0;
  private totalBytes = 0;

  constructor(opts: SpoolOptions) {
    this.dir = opts.dir;
    this.segmentBytes = opts.segmentBytes ?? 16 * 1024 * 1024;
  }

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const names = await readdir(this.dir);
    for (const n of names) {
      const m = SEGMENT_RE.exec(n);
      if (!m) continue;
      const seg = Number(m[1]);
      const size = (await stat(join(this.dir, n))).size;
      this.segments.push(seg);
      this.sizes.set(seg, size);
    }
    this.segments.sort((a, b) => a - b);
    const c = (await readJsonState(join(this.dir, 'cursor.json'))) as Partial<Cursor> | undefined;
    if (c && Number.isInteger(c.seg) && Number.isInteger(c.off)) this.cursor = { seg: c.seg!, off: c.off! };
    // Segments wholly behind the cursor were delivered before a crash.
    for (const seg of [...this.segments]) if (seg < this.cursor.seg) await this.dropSegment(seg);
    this.totalBytes = this.segments.reduce((s, seg) => s + (this.sizes.get(seg) ?? 0), 0) - this.cursorOffsetIn(this.segments[0]);
    this.writeSeg = (this.segments.at(-1) ?? 0) + 1;
  }

  private cursorOffsetIn(seg: number | undefined): number {
    return seg !== undefined && seg === this.cursor.seg ? this.cursor.off : 0;
  }

  private segPath(seg: number): string {
    return join(this.dir, `${String(seg).padStart(12, '0')}.spool`);
  }

  /** Bytes not yet delivered. */
  get bytes(): number {
    return Math.max(0, this.totalBytes);
  }

  /** Bytes handed to append() and not yet on disk: writers slow down on it. */
  get pendingBytes(): number {
    return this.pendingBytesN;
  }

  /** Nothing unread and nothing being written. */
  isEmpty(): boolean {
    return this.pendingWrites === 0 && this.bytes === 0;
  }

  /** Appends events in order; acks each once it is on disk. */
  append(events: LogEvent[]): Promise<void> {
    if (events.length === 0) return this.writeChain;
    this.pendingWrites++;
    let data = '';
    for (const e of events) data += `${e.id}\t${e.json}\n`;
    const pendingLen = data.length;
    this.pendingBytesN += pendingLen;
    const p = this.writeChain.then(async () => {
      try {
        if (!this.writeFh || (this.sizes.get(this.writeSeg) ?? 0) >= this.segmentBytes) await this.rollSegment();
        const buf = Buffer.from(data);
        await this.writeFh!.write(buf, 0, buf.length, null);
        await this.writeFh!.sync();
        this.sizes.set(this.writeSeg, (this.sizes.get(this.writeSeg) ?? 0) + buf.length);
        this.totalBytes += buf.length;
      } finally {
        this.pendingWrites--;
        this.pendingBytesN -= pendingLen;
      }
      for (const e of events) e.ack?.();
    });
    this.writeChain = p.catch(() => undefined);
    return p;
  }

  /** Writes events ahead of everything spooled (the memory queue on shutdown). */
  async prepend(events: LogEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.writeChain;
    const first = this.segments[0];
    // The cursor may sit inside the first segment: the new one goes before it.
    const seg = first === undefined ? this.writeSeg++ : first - 1;
    if (seg < 0) throw new Error('spool segment numbering exhausted');
    let data = '';
    for (const e of events) data += `${e.id}\t${e.json}\n`;
    const fh = await open(this.segPath(seg), 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    const size = Buffer.byteLength(data);
    this.segments.unshift(seg);
    this.segments.sort((a, b) => a - b);
    this.sizes.set(seg, size);
    this.totalBytes += size;
    for (const e of events) e.ack?.();
  }

  private async rollSegment(): Promise<void> {
    await this.writeFh?.close();
    this.writeSeg = Math.max(this.writeSeg, (this.segments.at(-1) ?? 0) + 1);
    if (this.segments.includes(this.writeSeg)) this.writeSeg++;
    this.writeFh = await open(this.segPath(this.writeSeg), 'a');
    this.segments.push(this.writeSeg);
    this.sizes.set(this.writeSeg, 0);
  }

  private async dropSegment(seg: number): Promise<void> {
    if (seg === this.writeSeg && this.writeFh) {
      await this.writeFh.close();
      this.writeFh = undefined;
    }
    await unlink(this.segPath(seg)).catch(() => undefined);
    this.segments = this.segments.filter((s) => s !== seg);
    this.sizes.delete(seg);
  }

  /** The next events in spool order, or undefined when nothing is readable now. */
  async read(maxEvents: number, maxBytes: number): Promise<SpoolBatch | undefined> {
    for (;;) {
      const seg = this.segments[0];
      if (seg === undefined) return undefined;
      const start = this.cursorOffsetIn(seg);
      const size = this.sizes.get(seg) ?? 0;
      if (start >= size) {
        // Drained: drop it unless it is still being appended to.
        if (seg === this.writeSeg && this.writeFh && this.pendingWrites > 0) return undefined;
        await this.dropSegment(seg);
        this.cursor = { seg: this.segments[0] ?? seg + 1, off: 0 };
        if (this.segments.length === 0) return undefined;
        continue;
      }
      const len = Math.min(size - start, Math.max(maxBytes, 64 * 1024));
      const buf = Buffer.allocUnsafe(len);
      const fh = await open(this.segPath(seg), 'r');
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, len, start));
      } finally {
        await fh.close();
      }
      const events: LogEvent[] = [];
      let pos = 0;
      while (events.length < maxEvents) {
        const nl = buf.indexOf(10, pos);
        if (nl < 0 || nl >= n) break;
        const line = buf.toString('utf8', pos, nl);
        pos = nl + 1;
        const tab = line.indexOf('\t');
        if (tab > 0) events.push({ id: line.slice(0, tab), json: line.slice(tab + 1) });
        if (pos - 0 >= maxBytes) break;
      }
      if (pos === 0) {
        // A line longer than the read window: skip it rather than stall forever.
        if (n >= len && len < size - start) {
          return this.read(maxEvents, maxBytes * 2);
        }
        return undefined;
      }
      const end = start + pos;
      return {
        events,
        commit: async () => {
          this.cursor = { seg, off: end };
          this.totalBytes -= pos;
          await writeFileAtomic(join(this.dir, 'cursor.json'), JSON.stringify(this.cursor));
        },
      };
    }
  }

  async close(): Promise<void> {
    await this.writeChain;
    await this.writeFh?.close();
    this.writeFh = undefined;
  }
}
