import { crc32 } from 'node:zlib';
import type { Labels } from './types.js';
import { ByteReader, ByteWriter } from './bytes.js';

/**
 * Framing shared by WAL segments and block files: each record is
 * [u32 payload length][u32 CRC-32 of payload][payload], payload[0] the type.
 * A reader stops at the first record that is torn or fails its checksum.
 */
export const RecordType = {
  Series: 1,
  Samples: 2,
  HeadChunk: 3,
  Chunk: 4,
  Footer: 5,
  Header: 6,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

const MAX_RECORD = 256 * 1024 * 1024;

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
  view.setUint32(start + 4, crc32(w.buf.subarray(start + 8, w.pos)), true);
}

export interface FrameProblem {
  offset: number;
  reason: string;
}

/** Calls `onRecord` for each intact record; returns the problem that stopped reading, if any. */
export function readRecords(buf: Uint8Array, onRecord: (type: number, r: ByteReader) => void): FrameProblem | undefined {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < 8) return { offset: off, reason: 'torn record header' };
    const len = view.getUint32(off, true);
    const crc = view.getUint32(off + 4, true);
    if (len === 0 && crc === 0) {
      // Zero-filled tail (preallocated or torn by the filesystem).
      return { offset: off, reason: 'zero-filled tail' };
    }
    if (len === 0 || len > MAX_RECORD) return { offset: off, reason: `implausible record length ${len}` };
    if (off + 8 + len > buf.length) return { offset: off, reason: 'torn record (file ends inside it)' };
    const payload = buf.subarray(off + 8, off + 8 + len);
    if (crc32(payload) !== crc) return { offset: off, reason: 'checksum mismatch' };
    const r = new ByteReader(payload);
    const type = r.u8();
    try {
      onRecord(type, r);
    } catch (err) {
      return { offset: off, reason: `undecodable record: ${(err as Error).message}` };
    }
    off += 8 + len;
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
