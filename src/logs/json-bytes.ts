import { isUtf8 } from 'node:buffer';

const HEX = new TextEncoder().encode('0123456789abcdef');
/** 1 for the bytes a JSON string cannot hold as they are: control characters, quote, backslash. */
const ESCAPE = new Uint8Array(256);
ESCAPE.fill(1, 0, 0x20);
ESCAPE[0x22] = 1;
ESCAPE[0x5c] = 1;
/** JSON.stringify's short escapes for control characters (0 where it writes \u00XX). */
const SHORT_ESCAPE = new Uint8Array(32);
SHORT_ESCAPE[8] = 0x62; // \b
SHORT_ESCAPE[9] = 0x74; // \t
SHORT_ESCAPE[10] = 0x6e; // \n
SHORT_ESCAPE[12] = 0x66; // \f
SHORT_ESCAPE[13] = 0x72; // \r

/** Bytes `jsonBytes` may write for `n` source bytes (a control byte becomes six). */
export function jsonBytesWorst(n: number): number {
  return n * 6 + 2;
}

/**
 * Writes the UTF-8 bytes `src[start, end)` into `dst` at `off` as a JSON
 * string literal, byte for byte what UTF-8 encoding JSON.stringify of their
 * decoded text gives; returns the new offset, or -1 (nothing meaningful
 * written) when the bytes are not valid UTF-8, whose decoding would replace
 * them. A tailed line's `event.original` goes from the read buffer to the bulk
 * body this way, with no string in between: escaping and encoding a line's
 * string cost as much as mapping it. `dst` needs jsonBytesWorst(end - start)
 * bytes of room.
 */
export function jsonBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, off: number): number {
  let seen = 0;
  dst[off++] = 0x22;
  for (let i = start; i < end; i++) {
    const b = src[i];
    seen |= b;
    if (ESCAPE[b] === 0) {
      dst[off++] = b;
      continue;
    }
    dst[off++] = 0x5c;
    if (b >= 0x20) dst[off++] = b;
    else if (SHORT_ESCAPE[b]) dst[off++] = SHORT_ESCAPE[b];
    else {
      dst[off++] = 0x75; // u00XX
      dst[off++] = 0x30;
      dst[off++] = 0x30;
      dst[off++] = HEX[b >> 4];
      dst[off++] = HEX[b & 15];
    }
  }
  dst[off++] = 0x22;
  // Valid UTF-8 passes through unchanged (JSON.stringify escapes only lone surrogates, which it cannot encode).
  if (seen >= 0x80 && !isUtf8(src.subarray(start, end))) return -1;
  return off;
}
