import { createHash } from 'node:crypto';
import { ECS_TAIL, MAX_ORIGINAL_CHARS, type MapContext } from './ecs.js';
import { ecsHeadBytes, ecsHeadWorst } from './ecs-bytes.js';
import { jsonBytes, jsonBytesWorst } from './json-bytes.js';

/**
 * One log event on its way to a sink. The document is serialised once at
 * intake: queue, spool and bulk body all carry the same text.
 */
export interface LogEvent {
  /** Deterministic document _id: re-sending the same event cannot store it twice. */
  readonly id: string;
  /** The ECS document as JSON. */
  readonly json: string;
  /** Called once the event is shipped or durably spooled (file intake commits offsets on it). */
  ack?: () => void;
}

/** A bulk `create` action naming the document's _id precedes each document in a `_bulk` body. */
export const BULK_CREATE_HEAD = '{"create":{"_id":"';
export const BULK_CREATE_TAIL = '"}}\n';

/**
 * An event held as its `_bulk` item (action line, document, newline) in
 * UTF-8, inside a slab shared with the events encoded after it. A busy file
 * intake keeps thousands of documents queued and in flight; as strings they
 * sit on the JavaScript heap and every young-generation collection copies
 * them again, and as a Buffer each they cost an allocation apiece, while a
 * slab's bytes stay put and consecutive events make one copy into the bulk
 * body. `json` decodes the document for the rarer paths (spool, NDJSON sink).
 */
export class EncodedEvent implements LogEvent {
  ack?: () => void;

  constructor(
    readonly slab: Buffer,
    /** Where the item (its action line) starts. */
    readonly start: number,
    readonly docStart: number,
    /** After the document's newline. */
    readonly end: number,
  ) {}

  get json(): string {
    return this.slab.toString('utf8', this.docStart, this.end - 1);
  }

  /** Read back from the action line: most events never need it as a string. */
  get id(): string {
    return this.slab.toString('latin1', this.start + HEAD_BYTES.length, this.docStart - TAIL_BYTES.length);
  }
}

const HEAD_BYTES = Buffer.from(BULK_CREATE_HEAD, 'latin1');
const TAIL_BYTES = Buffer.from(BULK_CREATE_TAIL, 'latin1');
const ECS_TAIL_BYTES = Buffer.from(`${ECS_TAIL}\n`, 'latin1');

const SLAB_BYTES = 1024 * 1024;

/** Slabs kept for reuse per encoder: enough for the churn of a steady stream, little memory when idle. */
const FREE_SLABS = 2;
/** Slabs with events still out that an encoder keeps count of (a queue's worth is a few dozen at most). */
const MAX_SEALED = 64;

/**
 * Encodes events into slabs of bulk items, one write per event.
 *
 * With `recycle`, a slab whose events have all been released (release()) is
 * written again instead of a fresh one being allocated: a busy intake fills a
 * megabyte slab every couple of thousand lines, and that much new memory
 * outside the JavaScript heap brings full garbage collections on its own. The
 * caller must release every event it took from the encoder, and read none
 * after releasing it.
 */
export class EventEncoder {
  private slab: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private off = 0;
  /** Events encoded into the current slab. */
  private count = 0;
  /** Events not yet released, per slab no longer written to (recycling only). */
  private readonly sealed?: Map<Buffer, number>;
  private readonly free: Buffer[] = [];

  constructor(opts: { recycle?: boolean } = {}) {
    if (opts.recycle) this.sealed = new Map();
  }

  /** Makes room for `worst` bytes: the current slab, or a recycled or new one. */
  private room(worst: number): void {
    if (this.off + worst <= this.slab.length) return;
    if (this.sealed && this.off > 0) this.seal();
    const reuse = this.free.length > 0 && this.free[this.free.length - 1].length >= worst ? this.free.pop() : undefined;
    this.slab = reuse ?? Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, worst));
    this.off = 0;
    this.count = 0;
  }

  private seal(): void {
    const sealed = this.sealed!;
    if (this.count <= 0) {
      this.recycle(this.slab);
      return;
    }
    sealed.set(this.slab, this.count);
    // Events that are never released (dropped when even the spool fails) must not pin their slabs:
    // past a bound the oldest slab is forgotten, left to the collector and never reused.
    if (sealed.size > MAX_SEALED) sealed.delete(sealed.keys().next().value!);
  }

  private recycle(slab: Buffer): void {
    this.sealed!.delete(slab);
    if (this.free.length < FREE_SLABS) this.free.push(slab);
  }

  /** `n` events of `slab` are no longer read by anyone (recycling encoders). */
  release(slab: Buffer, n: number): void {
    if (!this.sealed) return;
    if (slab === this.slab) {
      this.count -= n;
      return;
    }
    const outstanding = this.sealed.get(slab);
    if (outstanding === undefined) return; // forgotten
    if (outstanding <= n) this.recycle(slab);
    else this.sealed.set(slab, outstanding - n);
  }

  /** `id` must be ASCII (the base64url ids of this module are). */
  encode(id: string, json: string): EncodedEvent {
    const head = BULK_CREATE_HEAD + id + BULK_CREATE_TAIL;
    const worst = head.length + json.length * 3 + 1;
    this.room(worst);
    const start = this.off;
    this.off += this.slab.write(`${head}${json}\n`, start);
    this.count++;
    return new EncodedEvent(this.slab, start, start + head.length, this.off);
  }

  /**
   * Encodes a line read from a file: its id (lineId) and original text are
   * written from the read buffer's bytes, between them the document head
   * (lineToEcsHead). Undefined, with nothing written, when the line cannot go
   * this way (not valid UTF-8, or longer than event.original keeps).
   */
  encodeLine(key: Uint32Array, offset: number, buf: Uint8Array, start: number, end: number, docHead: string): EncodedEvent | undefined {
    if (end - start > MAX_ORIGINAL_CHARS) return undefined;
    const worst = HEAD_BYTES.length + LINE_ID_CHARS + TAIL_BYTES.length + docHead.length * 3 + jsonBytesWorst(end - start) + ECS_TAIL_BYTES.length;
    this.room(worst);
    const slab = this.slab;
    const start0 = this.off;
    slab.set(HEAD_BYTES, start0);
    let off = start0 + HEAD_BYTES.length;
    lineHash(key, offset, buf, start, end);
    writeLineId(slab, off);
    off += LINE_ID_CHARS;
    slab.set(TAIL_BYTES, off);
    off += TAIL_BYTES.length;
    const docStart = off;
    off += slab.write(docHead, off);
    off = jsonBytes(buf, start, end, slab, off);
    if (off < 0) return undefined;
    slab.set(ECS_TAIL_BYTES, off);
    this.off = off + ECS_TAIL_BYTES.length;
    this.count++;
    return new EncodedEvent(slab, start0, docStart, this.off);
  }
  /**
   * Maps and encodes a line read from a file with no string in between: the
   * document head is written from the line's bytes (ecsHeadBytes), then its
   * id and original text as in encodeLine. Undefined, with nothing written,
   * when the line needs the string path (lineToEcsHead and encodeLine, or
   * encode).
   */
  encodeMapped(key: Uint32Array, offset: number, buf: Buffer, start: number, end: number, ctx: MapContext): EncodedEvent | undefined {
    const len = end - start;
    if (len > MAX_ORIGINAL_CHARS) return undefined;
    const worst = HEAD_BYTES.length + LINE_ID_CHARS + TAIL_BYTES.length + ecsHeadWorst(ctx, len) + jsonBytesWorst(len) + ECS_TAIL_BYTES.length;
    this.room(worst);
    const slab = this.slab;
    const start0 = this.off;
    const docStart = start0 + HEAD_BYTES.length + LINE_ID_CHARS + TAIL_BYTES.length;
    let off = ecsHeadBytes(buf, start, end, ctx, slab, docStart);
    if (off < 0) return undefined;
    off = jsonBytes(buf, start, end, slab, off);
    if (off < 0) return undefined;
    slab.set(ECS_TAIL_BYTES, off);
    slab.set(HEAD_BYTES, start0);
    lineHash(key, offset, buf, start, end);
    writeLineId(slab, start0 + HEAD_BYTES.length);
    slab.set(TAIL_BYTES, start0 + HEAD_BYTES.length + LINE_ID_CHARS);
    this.off = off + ECS_TAIL_BYTES.length;
    this.count++;
    return new EncodedEvent(slab, start0, docStart, this.off);
  }
}

/** An event's document size for queue and batch limits, without decoding an encoded one. */
export function eventSize(e: LogEvent): number {
  return e instanceof EncodedEvent ? e.end - e.docStart : e.json.length;
}

/** A short, stable id from the parts that identify an event's origin. */
export function eventId(...parts: Array<string | number>): string {
  const h = createHash('sha1');
  for (const p of parts) {
    h.update(String(p));
    h.update('\0');
  }
  return h.digest('base64url');
}

/** A 128-bit key (four 32-bit words) for a line source, e.g. path + inode: computed once per file. */
export function sourceKey(...parts: Array<string | number>): Uint32Array {
  const d = createHash('sha1');
  for (const p of parts) {
    d.update(String(p));
    d.update('\0');
  }
  const b = d.digest();
  return new Uint32Array([b.readUInt32LE(0), b.readUInt32LE(4), b.readUInt32LE(8), b.readUInt32LE(12)]);
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;
/** lineHash's result: four 32-bit lanes, little-endian. */
const hashBytes = new Uint8Array(16);
const hashView = new DataView(hashBytes.buffer);

/**
 * The _id of a line read from a file: a non-cryptographic 128-bit hash (four
 * 32-bit lanes, MurmurHash3-x86-128 style mixing) of the line's bytes, seeded
 * with its source key and byte offset. The position makes ids unique within a
 * file; the content keeps them apart when the same offsets hold new lines
 * (copytruncate, or a recycled inode number). About 20x cheaper than a SHA-1
 * per line, and ids are not a security boundary: they only need to be stable
 * and collision-free among the events of one data stream.
 */
export function lineId(key: Uint32Array, offset: number, buf: Uint8Array, start: number, end: number): string {
  lineHash(key, offset, buf, start, end);
  const out = Buffer.allocUnsafe(LINE_ID_CHARS);
  writeLineId(out, 0);
  return out.toString('latin1');
}

/** Characters of a line id: 16 bytes in unpadded base64url. */
export const LINE_ID_CHARS = 22;
const B64URL = new TextEncoder().encode('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');

/** Writes the last lineHash as its id (LINE_ID_CHARS ASCII bytes) into `dst` at `off`. */
function writeLineId(dst: Uint8Array, off: number): void {
  const b = hashBytes;
  for (let i = 0; i < 15; i += 3) {
    const n = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    dst[off++] = B64URL[n >>> 18];
    dst[off++] = B64URL[(n >>> 12) & 63];
    dst[off++] = B64URL[(n >>> 6) & 63];
    dst[off++] = B64URL[n & 63];
  }
  dst[off++] = B64URL[b[15] >>> 2];
  dst[off] = B64URL[(b[15] & 3) << 4];
}

let viewBuf: Uint8Array | undefined;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/** A DataView of `buf`'s bytes, kept while lines keep coming from the same read buffer. */
function viewOf(buf: Uint8Array): DataView<ArrayBufferLike> {
  if (buf !== viewBuf) {
    view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    viewBuf = buf;
  }
  return view;
}

const tailWords = new Int32Array(4);

/** lineId's hash, left in `hash` (little-endian lanes). */
function lineHash(key: Uint32Array, offset: number, buf: Uint8Array, start: number, end: number): void {
  const hi = Math.floor(offset / 0x1_0000_0000) >>> 0;
  let h1 = (key[0] ^ offset) >>> 0;
  let h2 = (key[1] ^ hi) >>> 0;
  let h3 = key[2];
  let h4 = key[3];
  const len = end - start;
  let i = start;
  const blocksEnd = start + (len & ~15);
  // One little-endian 32-bit load per word instead of four byte loads, shifts and ors.
  const dv = viewOf(buf);
  for (; i < blocksEnd; i += 16) {
    let k1 = dv.getInt32(i, true);
    let k2 = dv.getInt32(i + 4, true);
    let k3 = dv.getInt32(i + 8, true);
    let k4 = dv.getInt32(i + 12, true);
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }
  // Tail (0..15 bytes): the same lane mixing without the rotate-add step. Written without
  // branches on the tail's length (a zero word mixes to zero), so no length met only later
  // sends the optimised code back to the interpreter.
  const tail = tailWords;
  tail[0] = tail[1] = tail[2] = tail[3] = 0;
  const rest = end - i;
  for (let j = 0; j < rest; j++) tail[j >> 2] |= buf[i + j] << ((j & 3) * 8);
  h4 ^= Math.imul(rotl(Math.imul(tail[3], C4), 18), C1);
  h3 ^= Math.imul(rotl(Math.imul(tail[2], C3), 17), C4);
  h2 ^= Math.imul(rotl(Math.imul(tail[1], C2), 16), C3);
  h1 ^= Math.imul(rotl(Math.imul(tail[0], C1), 15), C2);
  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  hashView.setInt32(0, h1, true);
  hashView.setInt32(4, h2, true);
  hashView.setInt32(8, h3, true);
  hashView.setInt32(12, h4, true);
}

/** Anything that accepts events: the pipeline's queue. */
export interface EventSink {
  push(events: LogEvent[]): void;
}
