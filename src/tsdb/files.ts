import { readdirSync, readSync, statSync, writeSync } from 'node:fs';

/** Writes a whole buffer (writeSync may write less than asked). */
export function writeAll(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/** Files named by an 8-digit sequence number (plus `suffix`), ascending. */
export function listSequenced(dir: string, suffix: string): Array<{ seq: number; name: string }> {
  const re = new RegExp(`^(\\d{8})${suffix.replace('.', '\\.')}$`);
  const out: Array<{ seq: number; name: string }> = [];
  for (const name of readdirSync(dir)) {
    const m = re.exec(name);
    if (m) out.push({ seq: Number(m[1]), name });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

export function seqName(seq: number, suffix = ''): string {
  return String(seq).padStart(8, '0') + suffix;
}

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Reads up to `len` bytes at `pos` (fewer at the end of the file). */
export function readAt(fd: number, pos: number, len: number): Uint8Array {
  return readOn(fd, pos, new Uint8Array(0), len);
}

/**
 * The `len` bytes at `pos` (fewer at the end of the file) when `head` holds the first of
 * them already: only the rest is read.
 */
export function readOn(fd: number, pos: number, head: Uint8Array, len: number): Uint8Array {
  const buf = Buffer.allocUnsafe(len);
  let got = Math.min(head.length, len);
  buf.set(head.subarray(0, got));
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got === len ? buf : buf.subarray(0, got);
}
