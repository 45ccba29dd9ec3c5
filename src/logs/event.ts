import { createHash } from 'node:crypto';

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
    readonly id: string,
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
}

const SLAB_BYTES = 1024 * 1024;

/** Encodes events into slabs of bulk items, one write per event. */
export class EventEncoder {
  private slab: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private off = 0;

  /** `id` must be ASCII (the base64url ids of this module are). */
  encode(id: string, json: string): EncodedEvent {
    const head = BULK_CREATE_HEAD + id + BULK_CREATE_TAIL;
    const worst = head.length + json.length * 3 + 1;
    if (this.off + worst > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, worst));
      this.off = 0;
    }
    const start = this.off;
    this.off += this.slab.write(`${head}${json}\n`, start);
    return new EncodedEvent(id, this.slab, start, start + head.length, this.off);
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
const out = Buffer.alloc(16);

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
  const hi = Math.floor(offset / 0x1_0000_0000) >>> 0;
  let h1 = (key[0] ^ offset) >>> 0;
  let h2 = (key[1] ^ hi) >>> 0;
  let h3 = key[2];
  let h4 = key[3];
  const len = end - start;
  let i = start;
  const blocksEnd = start + (len & ~15);
  for (; i < blocksEnd; i += 16) {
    let k1 = buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
    let k2 = buf[i + 4] | (buf[i + 5] << 8) | (buf[i + 6] << 16) | (buf[i + 7] << 24);
    let k3 = buf[i + 8] | (buf[i + 9] << 8) | (buf[i + 10] << 16) | (buf[i + 11] << 24);
    let k4 = buf[i + 12] | (buf[i + 13] << 8) | (buf[i + 14] << 16) | (buf[i + 15] << 24);
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
  // Tail (0..15 bytes): the same lane mixing without the rotate-add step.
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  let k4 = 0;
  const rest = end - i;
  for (let j = 0; j < rest; j++) {
    const b = buf[i + j] << ((j & 3) * 8);
    if (j < 4) k1 |= b;
    else if (j < 8) k2 |= b;
    else if (j < 12) k3 |= b;
    else k4 |= b;
  }
  if (rest > 12) h4 ^= Math.imul(rotl(Math.imul(k4, C4), 18), C1);
  if (rest > 8) h3 ^= Math.imul(rotl(Math.imul(k3, C3), 17), C4);
  if (rest > 4) h2 ^= Math.imul(rotl(Math.imul(k2, C2), 16), C3);
  if (rest > 0) h1 ^= Math.imul(rotl(Math.imul(k1, C1), 15), C2);
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
  out.writeInt32LE(h1, 0);
  out.writeInt32LE(h2, 4);
  out.writeInt32LE(h3, 8);
  out.writeInt32LE(h4, 12);
  return out.toString('base64url');
}

/** Anything that accepts events: the pipeline's queue. */
export interface EventSink {
  push(events: LogEvent[]): void;
}
