/**
 * A copy of `s` held in one piece. A string built by concatenation (a label
 * key) is a tree of its pieces until something flattens it, and a substring
 * of a large text (a parsed label value) may keep the whole text alive; a
 * string kept for long (an index key) is copied once instead. UTF-16 round
 * trips exactly, lone surrogates included.
 */
export function flatString(s: string): string {
  return Buffer.from(s, 'utf16le').toString('utf16le');
}
