import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../logger.js';
import { lineToEcsHead, lineToEcsPieces, unparsedToEcsJson, type MapContext } from './ecs.js';
import { EncodedEvent, EventEncoder, eventId, lineId, sourceKey, type LogEvent } from './event.js';

/**
 * One read buffer reused across reads (polls run one at a time; a read that
 * finds it taken gets its own). A fresh megabyte per read is external memory
 * to the garbage collector, and enough of it brings full collections early.
 */
let spareReadBuffer: Buffer | undefined;

function takeReadBuffer(bytes: number): Buffer {
  const b = spareReadBuffer;
  spareReadBuffer = undefined;
  // Room for a held partial line on top of a full read: otherwise each longer partial line
  // than any before it (a chunk boundary lands anywhere) costs a new megabyte.
  return b && b.length >= bytes ? b : Buffer.allocUnsafeSlow(bytes + (bytes >> 4));
}

export interface Position {
  ino: number;
  offset: number;
}

export interface TailSink {
  push(events: LogEvent[]): void;
  accepting(): boolean;
}

export interface TailOptions {
  path: string;
  service: string;
  startAt: 'beginning' | 'end';
  maxLineBytes: number;
  /** Largest read per poll, bounding memory per file. */
  readBytes?: number;
  sink: TailSink;
  logger: Logger;
  /** Called when the committed (delivered) position advances. */
  onCommit: (pos: Position) => void;
}

interface Open {
  fh: FileHandle;
  ino: number;
  /** Offset of the next unread byte (after the held partial line). */
  offset: number;
  partial: Buffer;
  /** Seeds the line ids: path + inode. */
  key: Uint32Array;
}

interface Pending {
  ino: number;
  end: number;
  acked: boolean;
  /** The encoder's slabs holding the batch's events, and how many each (released on acknowledgement). */
  slabs: Buffer[];
  counts: number[];
}

/**
 * Follows one file like `tail -F`: a poll reads what was appended, a changed
 * inode at the path means rotation (the old file is read to its end first), a
 * size below our offset means truncation (copytruncate: start over). A partial
 * last line waits for its newline. Offsets are committed only once every event
 * up to them is delivered or spooled, in order, so a restart from the committed
 * position neither skips nor (beyond idempotent re-sends) repeats lines.
 */
export class FileTailer {
  private cur?: Open;
  private pending: Pending[] = [];
  private committed?: Position;
  private readonly readBytes: number;
  private readonly ctx: MapContext;
  // Every event is released once acknowledged: delivered or spooled, and read by no one after.
  private readonly encoder = new EventEncoder({ recycle: true });

  constructor(private readonly o: TailOptions) {
    this.readBytes = o.readBytes ?? 1024 * 1024;
    this.ctx = { service: o.service, file: o.path };
  }

  get position(): Position | undefined {
    return this.committed;
  }

  /** Opens the file at the saved position (finding it by inode if it was rotated meanwhile). */
  async init(saved: Position | undefined): Promise<void> {
    this.committed = saved;
    const st = await stat(this.o.path).catch(() => undefined);
    if (saved && (!st || st.ino !== saved.ino)) {
      const rotated = await this.findByInode(saved.ino);
      if (rotated) {
        await this.openAt(rotated, saved.ino, saved.offset);
        return;
      }
    }
    if (!st) return;
    const offset = saved && st.ino === saved.ino ? (saved.offset <= st.size ? saved.offset : 0) : this.o.startAt === 'end' && !saved ? st.size : 0;
    await this.openAt(this.o.path, st.ino, offset);
  }

  private async findByInode(ino: number): Promise<string | undefined> {
    const dir = dirname(this.o.path);
    const base = basename(this.o.path);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names) {
      if (n === base || !n.startsWith(base)) continue;
      const st = await stat(join(dir, n)).catch(() => undefined);
      if (st?.ino === ino) return join(dir, n);
    }
    return undefined;
  }

  private async openAt(path: string, ino: number, offset: number): Promise<void> {
    const fh = await open(path, 'r');
    this.cur = { fh, ino, offset, partial: Buffer.alloc(0), key: sourceKey(this.o.path, ino) };
  }

  /** One poll: read new data, detect rotation and truncation. */
  async poll(): Promise<void> {
    if (!this.o.sink.accepting()) return;
    if (!this.cur) {
      const st = await stat(this.o.path).catch(() => undefined);
      if (!st) return;
      await this.openAt(this.o.path, st.ino, 0);
    }
    const cur = this.cur!;
    const fst = await cur.fh.stat();
    if (fst.size < cur.offset) {
      this.o.logger.info({ path: this.o.path }, 'log file truncated; reading from the start');
      cur.offset = 0;
      cur.partial = Buffer.alloc(0);
    }
    await this.readAvailable(cur, fst.size, false);
    const pst = await stat(this.o.path).catch(() => undefined);
    if (pst && pst.ino !== cur.ino) {
      // Rotated: drain the old file (including an unterminated last line), then follow the new one.
      const final = await cur.fh.stat();
      await this.readAvailable(cur, final.size, true);
      await cur.fh.close();
      await this.openAt(this.o.path, pst.ino, 0);
      await this.readAvailable(this.cur!, (await this.cur!.fh.stat()).size, false);
    }
  }

  private async readAvailable(cur: Open, size: number, flushPartial: boolean): Promise<void> {
    while (cur.offset < size && this.o.sink.accepting()) {
      const len = Math.min(this.readBytes, size - cur.offset);
      const held = cur.partial.length;
      // The held partial line goes first, the read lands right after it: one buffer, no concatenation.
      const buf = takeReadBuffer(held + len);
      cur.partial.copy(buf, 0);
      let bytesRead: number;
      try {
        bytesRead = (await cur.fh.read(buf, held, len, cur.offset)).bytesRead;
        if (bytesRead === 0) break;
        const startOfChunk = cur.offset - held;
        cur.offset += bytesRead;
        // Lines are encoded (copied) as they are cut, and the rest is copied into `partial`: the buffer is free afterwards.
        this.emitLines(cur, buf.subarray(0, held + bytesRead), startOfChunk);
      } finally {
        spareReadBuffer = buf;
      }
    }
    if (flushPartial && cur.partial.length) {
      const start = cur.offset - cur.partial.length;
      this.emit(cur, [this.toEvent(cur, cur.partial, 0, cur.partial.length, start)], cur.offset);
      cur.partial = Buffer.alloc(0);
    }
  }

  private emitLines(cur: Open, data: Buffer, base: number): void {
    const events: LogEvent[] = [];
    let pos = 0;
    for (;;) {
      const nl = data.indexOf(10, pos);
      if (nl < 0) break;
      let end = nl;
      if (end > pos && data[end - 1] === 13) end--; // CRLF
      if (end > pos) events.push(this.toEvent(cur, data, pos, end, base + pos));
      pos = nl + 1;
    }
    let rest = data.subarray(pos);
    if (rest.length > this.o.maxLineBytes) {
      // A runaway line: ship what we have, tagged, rather than hold unbounded memory.
      const raw = rest.toString('utf8', 0, this.o.maxLineBytes);
      const json = unparsedToEcsJson(raw, `line longer than ${this.o.maxLineBytes} bytes, truncated`, this.ctx);
      events.push({ id: eventId(this.o.path, cur.ino, base + pos, 'truncated'), json });
      pos += rest.length;
      rest = Buffer.alloc(0);
    }
    cur.partial = Buffer.from(rest);
    if (events.length) this.emit(cur, events, base + pos);
  }

  private toEvent(cur: Open, data: Buffer, start: number, end: number, offset: number): LogEvent {
    // Content is part of the id: after copytruncate the same offsets hold new lines.
    const mapped = this.encoder.encodeMapped(cur.key, offset, data, start, end, this.ctx);
    if (mapped) return mapped;
    const line = data.toString('utf8', start, end);
    const head = lineToEcsHead(line, this.ctx);
    return (
      (head !== undefined && this.encoder.encodeLine(cur.key, offset, data, start, end, head)) ||
      this.encoder.encode(lineId(cur.key, offset, data, start, end), lineToEcsPieces(line, this.ctx))
    );
  }

  private emit(cur: Open, events: LogEvent[], end: number): void {
    const p: Pending = { ino: cur.ino, end, acked: false, slabs: [], counts: [] };
    for (const e of events) {
      if (!(e instanceof EncodedEvent)) continue;
      const last = p.slabs.length - 1;
      if (last >= 0 && p.slabs[last] === e.slab) p.counts[last]++;
      else {
        p.slabs.push(e.slab);
        p.counts.push(1);
      }
    }
    this.pending.push(p);
    events[events.length - 1].ack = () => {
      p.acked = true;
      // A batch goes whole to memory or to the spool and is acknowledged in order: its last
      // event's ack means all of them are delivered or on disk, and no longer read.
      for (let i = 0; i < p.slabs.length; i++) this.encoder.release(p.slabs[i], p.counts[i]);
      // Entries wait here until every earlier one is acknowledged (an outage holds the oldest for
      // as long as it lasts): they must not keep the slabs alive meanwhile.
      p.slabs.length = 0;
      p.counts.length = 0;
      this.advance();
    };
    this.o.sink.push(events);
  }

  private advance(): void {
    let moved = false;
    while (this.pending.length && this.pending[0].acked) {
      const p = this.pending.shift()!;
      this.committed = { ino: p.ino, offset: p.end };
      moved = true;
    }
    if (moved && this.committed) this.o.onCommit(this.committed);
  }

  async close(): Promise<void> {
    await this.cur?.fh.close().catch(() => undefined);
    this.cur = undefined;
  }
}
