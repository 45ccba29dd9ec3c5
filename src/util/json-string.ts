// Characters JSON must escape, and lone surrogates (JSON.stringify escapes those too).
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f\ud800-\udfff]/;
// Anything but printable ASCII other than the quote and the backslash.
const NOT_PLAIN_ASCII = /[^\u0020\u0021\u0023-\u005b\u005d-\u007e]/;

/**
 * A JSON string literal, identical to JSON.stringify's: most values need no
 * escaping, and a regex test plus a concatenation is several times cheaper
 * than JSON.stringify on the hot paths that write JSON by hand (request log
 * lines, ECS documents).
 */
export function jsonString(s: string): string {
  return s.length < 4096 && !NEEDS_ESCAPE.test(s) ? `"${s}"` : JSON.stringify(s);
}

/**
 * Whether `s` is printable ASCII needing no JSON escape: its literal is then
 * `"${s}"`, and its Latin-1 bytes are its UTF-8 bytes, so a line made only of
 * such strings can be encoded without the UTF-8 encoder (which first copies a
 * concatenated string into a flat one).
 */
export function plainAscii(s: string): boolean {
  return s.length < 4096 && !NOT_PLAIN_ASCII.test(s);
}
