import type { Labels } from './types.js';
import { ByteReader, ByteWriter } from './bytes.js';
import { crc32c } from './crc32c.js';

/**
 * Framing shared by WAL segments and block files: each record is
 * [u32 payload length][u32 CRC-32C of payload][payload], payload[0] the type.
 */
export const RecordType = {
  Series: 1,
  Samples: 2,
  HeadChunk: 3,
  Chunk: 4,
  Footer: 5,
  Header: 6,
  /** Block index: per series, where its chunks are (see block/format.ts). */
  ChunkMetas: 7,
  /** Block index: a batch of series entries. */
  SeriesIndex: 8,
  /** WAL: native histogram samples (wal/records.ts). */
  HistogramSamples: 9,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export const MAX_RECORD = 256 * 1024 * 1024;
export const FRAME_HEADER = 8;

/** Starts a record in `w`; returns its start offset for `endRecord`. */
export function beginRecord(w: ByteWriter, type: RecordType): number {
  const start = w.pos;
  w.ensure(9);
  w.pos += 8;
  w.u8(type);
  return start;
}

export function endRecord(w: ByteWriter, start: number): void {
  const len = w.pos - start - 8;
  const view = new DataView(w.buf.buffer, w.buf.byteOffset);
  view.setUint32(start, len, true);
  view.setUint32(start + 4, crc32c(w.buf.subarray(start + 8, w.pos)), true);
}

export interface FrameProblem {
  offset: number;
  reason: string;
}

export type Frame =
  | { ok: true; type: number; payload: Uint8Array; next: number }
  | {
      ok: false;
      reason: string;
      /** The buffer ends inside the record (or in a zero-filled tail): more bytes may still come. */
      torn: boolean;
      /** Offset after the damaged record when its length field is plausible (its payload failed the checksum). */
      next?: number;
    };

/** Reads the record at `off` of `buf` (which must have bytes at `off`). */
export function readFrame(buf: Uint8Array, off: number): Frame {
  if (buf.length - off < FRAME_HEADER) return { ok: false, reason: 'torn record header', torn: true };
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = view.getUint32(off, true);
  const crc = view.getUint32(off + 4, true);
  // Zero-filled tail: preallocated or torn by the filesystem.
  if (len === 0 && crc === 0) return { ok: false, reason: 'zero-filled tail', torn: true };
  if (len === 0 || len > MAX_RECORD) return { ok: false, reason: `implausible record length ${len}`, torn: false };
  const end = off + FRAME_HEADER + len;
  if (end > buf.length) return { ok: false, reason: 'torn record (file ends inside it)', torn: true };
  const payload = buf.subarray(off + FRAME_HEADER, end);
  if (crc32c(payload) !== crc) return { ok: false, reason: 'checksum mismatch', torn: false, next: end };
  return { ok: true, type: payload[0], payload, next: end };
}

/**
 * The offset of the next intact record after damage at `from`, found by
 * trying every later offset (a CRC-32C match by chance is negligible), or
 * undefined when none follows.
 */
export function resync(buf: Uint8Array, from: number): number | undefined {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let off = from + 1; off + FRAME_HEADER < buf.length; off++) {
    const len = view.getUint32(off, true);
    if (len === 0 || off + FRAME_HEADER + len > buf.length) continue;
    if (readFrame(buf, off).ok) return off;
  }
  return undefined;
}

/** Calls `onRecord` for each intact record; returns the problem that stopped reading, if any. */
export function readRecords(buf: Uint8Array, onRecord: (type: number, r: ByteReader) => void): FrameProblem | undefined {
  let off = 0;
  while (off < buf.length) {
    const f = readFrame(buf, off);
    if (!f.ok) return { offset: off, reason: f.reason };
    const r = new ByteReader(f.payload);
    r.u8();
    try {
      onRecord(f.type, r);
    } catch (err) {
      return { offset: off, reason: `undecodable record: ${(err as Error).message}` };
    }
    off = f.next;
  }
  return undefined;
}

export function writeLabels(w: ByteWriter, labels: Labels): void {
  const names = Object.keys(labels);
  w.uvarint(names.length);
  for (const n of names) {
    w.string(n);
    w.string(labels[n]);
  }
}

/** Steps over a label set written by writeLabels without decoding it (its bytes are still bounds-checked). */
export function skipLabels(r: ByteReader): void {
  const n = r.uvarint();
  if (n > 10_000) throw new Error(`implausible label count ${n}`);
  for (let i = 0; i < 2 * n; i++) r.bytes();
}

export function readLabels(r: ByteReader): Record<string, string> {
  const n = r.uvarint();
  if (n > 10_000) throw new Error(`implausible label count ${n}`);
  const labels: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const name = r.string();
    labels[name] = r.string();
  }
  return labels;
}
