/**
 * Char-code level building blocks of the exposition parser: label-set scanning
 * into a reusable scratch buffer, string interning, and number parsing without
 * slicing. Kept apart from the line/metadata logic so the hot loops stay small
 * enough for V8 to optimise as a whole.
 */
import { grown } from '../util/typed-array.js';

export const SPACE = 32;
export const TAB = 9;
export const CR = 13;
export const HASH = 35;
export const LBRACE = 123;
export const RBRACE = 125;
export const COMMA = 44;
export const EQ = 61;
export const QUOTE = 34;
export const BACKSLASH = 92;

/** Thrown by the scanners; the parser turns it into a line-numbered ExpositionError. */
export class ScanError extends Error {}

export function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
}
export function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 58;
}
function isLabelStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isLabelChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
}

/** A short, printable excerpt of hostile input for error messages. */
export function excerpt(s: string, max = 40): string {
  const cut = s.length > max ? s.slice(0, max) + '…' : s;
  return JSON.stringify(cut);
}

/** Final avalanche of murmur3: spreads a pair hash before it is summed into a set hash. */
export function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * The label pairs of the last scanned label set. Per pair: name start/end,
 * value start/end (inside the quotes), name hash, value hash, and whether the
 * value has escapes. Module-level because parsing is synchronous and the
 * buffers are reused by every parse.
 */
export const scratch = {
  n: 0,
  /** Order-independent hash of the non-empty pairs (sum of mixed pair hashes). */
  setHash: 0,
  pos: new Int32Array(4 * 64),
  hashes: new Int32Array(2 * 64),
  escaped: new Uint8Array(64),
};

function grow(): void {
  const cap = scratch.escaped.length * 2;
  scratch.pos = grown(scratch.pos, 4 * cap);
  scratch.hashes = grown(scratch.hashes, 2 * cap);
  scratch.escaped = grown(scratch.escaped, cap);
}

/**
 * Scans and validates `{...}` starting at `open` (Prometheus syntax: blanks
 * around tokens, trailing comma, escapes \\ \" \n only), recording each pair in
 * `scratch`. Returns the index after `}`.
 */
export function scanLabels(text: string, open: number, end: number): number {
  let i = open + 1;
  let n = 0;
  let setHash = 0;
  while (true) {
    let c = text.charCodeAt(i);
    while (c === SPACE || c === TAB) c = text.charCodeAt(++i);
    if (i >= end) throw new ScanError('unterminated label set (missing "}")');
    if (c === RBRACE) break;
    if (!isLabelStart(c)) throw new ScanError(`invalid label name at ${excerpt(text.slice(i, end))}`);
    const nStart = i;
    let nh = Math.imul(0x811c9dc5 ^ c, 16777619);
    i++;
    while (i < end) {
      c = text.charCodeAt(i);
      if (!isLabelChar(c)) break;
      nh = Math.imul(nh ^ c, 16777619);
      i++;
    }
    const nEnd = i;
    while (i < end && (c === SPACE || c === TAB)) c = text.charCodeAt(++i);
    if (i >= end || c !== EQ) throw new ScanError(`expected "=" after label name ${excerpt(text.slice(nStart, nEnd))}`);
    c = text.charCodeAt(++i);
    while (i < end && (c === SPACE || c === TAB)) c = text.charCodeAt(++i);
    if (i >= end || c !== QUOTE) throw new ScanError(`expected a quoted value for label ${excerpt(text.slice(nStart, nEnd))}`);
    const vStart = ++i;
    let vh = nh ^ 0xff;
    let esc = 0;
    while (true) {
      if (i >= end) throw new ScanError(`unterminated value for label ${excerpt(text.slice(nStart, nEnd))}`);
      c = text.charCodeAt(i);
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        const e = text.charCodeAt(i + 1);
        if (e !== BACKSLASH && e !== QUOTE && e !== 110 /* n */) {
          throw new ScanError(`invalid escape ${excerpt(text.slice(i, i + 2))} in value of label ${excerpt(text.slice(nStart, nEnd))} (allowed: \\\\, \\", \\n)`);
        }
        esc = 1;
        vh = Math.imul(Math.imul(vh ^ c, 16777619) ^ e, 16777619);
        i += 2;
        continue;
      }
      vh = Math.imul(vh ^ c, 16777619);
      i++;
    }
    const vEnd = i;
    if (n === scratch.escaped.length) grow();
    const p = n * 4;
    scratch.pos[p] = nStart;
    scratch.pos[p + 1] = nEnd;
    scratch.pos[p + 2] = vStart;
    scratch.pos[p + 3] = vEnd;
    scratch.hashes[n * 2] = nh;
    scratch.hashes[n * 2 + 1] = vh;
    scratch.escaped[n] = esc;
    n++;
    // Empty values mean "no label": they do not make another series.
    if (vEnd > vStart) setHash = (setHash + mix(vh)) | 0;
    c = text.charCodeAt(++i);
    while (i < end && (c === SPACE || c === TAB)) c = text.charCodeAt(++i);
    if (i < end && c === COMMA) {
      i++;
      continue;
    }
    if (i < end && c === RBRACE) break;
    throw new ScanError(`expected "," or "}" after a label value, got ${excerpt(text.slice(i, end))}`);
  }
  scratch.n = n;
  scratch.setHash = setHash;
  return i + 1;
}

export function unescapeValue(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH) {
      const e = s[++i];
      out += e === 'n' ? '\n' : e;
    } else out += s[i];
  }
  return out;
}

/**
 * A copy of `text[start, end)` that does not reference `text`. V8 slices of 13+
 * characters point into their parent; label values outlive the scrape body (the
 * store keeps them), so they must not pin a whole body each.
 */
export function ownCopy(text: string, start: number, end: number): string {
  if (end - start < 13) return text.slice(start, end);
  if (text === copySource && isOneByte(text, start, end)) {
    // Past a few copies from one body (a first scrape: every series is new),
    // one latin1 Buffer of the body makes each copy a plain decode, several
    // times cheaper than flattening a concatenation. Only for one-byte text,
    // which latin1 round-trips exactly.
    if (copyBuffer === undefined && ++copyCount > 256) copyBuffer = Buffer.from(text, 'latin1');
    if (copyBuffer !== undefined) return latin1(copyBuffer, start, end);
  }
  return (' ' + text.slice(start, end)).slice(1);
}

function isOneByte(text: string, start: number, end: number): boolean {
  let or = 0;
  for (let i = start; i < end; i++) or |= text.charCodeAt(i);
  return or < 256;
}

let copySource = '';
let copyBuffer: Buffer | undefined;
let copyCount = 0;

/** Lets ownCopy build a Buffer of `text` if it copies much from it; call endCopies() after. */
export function beginCopies(text: string): void {
  copySource = text;
  copyBuffer = undefined;
  copyCount = 0;
}

/** Releases the body and its Buffer. */
export function endCopies(): void {
  copySource = '';
  copyBuffer = undefined;
}

type Latin1Slicer = Buffer & { latin1Slice?: (start: number, end: number) => string };

function latin1(buf: Latin1Slicer, start: number, end: number): string {
  // latin1Slice is what toString('latin1', ...) calls after checking its arguments.
  return typeof buf.latin1Slice === 'function' ? buf.latin1Slice(start, end) : buf.toString('latin1', start, end);
}

/**
 * Whether `text` holds `s` at `at`, for long `s` (a whole series text): a slice
 * compared with === is one memory comparison, several times faster than
 * startsWith with a position, which goes character by character.
 */
export function textAt(text: string, at: number, s: string): boolean {
  return text.slice(at, at + s.length) === s;
}

/** Whether `text[start, end)` equals `s`; a plain loop beats startsWith for the short names it compares. */
export function sameText(text: string, start: number, end: number, s: string): boolean {
  if (s.length !== end - start) return false;
  for (let i = 0; i < s.length; i++) if (text.charCodeAt(start + i) !== s.charCodeAt(i)) return false;
  return true;
}

const INTERN_MAX_LEN = 128;

/**
 * Open-addressed string table keyed by the hashes the scanner computes: label
 * names and common label values come out as one shared string instead of a
 * fresh slice per series. Bounded, so a hostile target cannot grow it without
 * limit; past the bound strings are copied instead.
 */
export class Interner {
  private strs: Array<string | undefined>;
  private hashes: Int32Array;
  private mask: number;
  private count = 0;

  /** @param copy store copies that do not reference the parsed text (for strings that outlive it) */
  constructor(
    bits = 10,
    private readonly maxBits = 16,
    private readonly copy = true,
  ) {
    this.strs = new Array<string | undefined>(1 << bits).fill(undefined);
    this.hashes = new Int32Array(1 << bits);
    this.mask = (1 << bits) - 1;
  }

  /** Whether the table stopped taking strings (a new one is due). */
  get full(): boolean {
    return this.count * 2 >= this.mask && this.mask + 1 >= 1 << this.maxBits;
  }

  get(text: string, start: number, end: number, hash: number): string {
    const len = end - start;
    if (len > INTERN_MAX_LEN) return this.copy ? ownCopy(text, start, end) : text.slice(start, end);
    const mask = this.mask;
    let k = mix(hash) & mask;
    while (true) {
      const s = this.strs[k];
      if (s === undefined) break;
      if (this.hashes[k] === hash && s.length === len && text.startsWith(s, start)) return s;
      k = (k + 1) & mask;
    }
    const s = this.copy ? ownCopy(text, start, end) : text.slice(start, end);
    if (this.count * 2 >= mask) {
      if (mask + 1 >= 1 << this.maxBits) return s;
      this.rehash();
      k = mix(hash) & this.mask;
      while (this.strs[k] !== undefined) k = (k + 1) & this.mask;
    }
    this.strs[k] = s;
    this.hashes[k] = hash;
    this.count++;
    return s;
  }

  private rehash(): void {
    const oldS = this.strs;
    const oldH = this.hashes;
    const size = oldS.length * 2;
    this.strs = new Array<string | undefined>(size).fill(undefined);
    this.hashes = new Int32Array(size);
    this.mask = size - 1;
    for (let j = 0; j < oldS.length; j++) {
      const s = oldS[j];
      if (s === undefined) continue;
      let k = mix(oldH[j]) & this.mask;
      while (this.strs[k] !== undefined) k = (k + 1) & this.mask;
      this.strs[k] = s;
      this.hashes[k] = oldH[j];
    }
  }
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * Plain decimals (`-12`, `3.25`, `.5`) of at most 15 digits, parsed from char
 * codes: mantissa and 10^k are exact doubles then, so one division rounds
 * correctly (Clinger's fast path) and matches Number(). Returns undefined for
 * anything else (exponents, Inf, NaN, long or invalid text): the caller falls
 * back to the general parser.
 */
export function fastDecimal(text: string, start: number, end: number): number | undefined {
  let i = start;
  let c = text.charCodeAt(i);
  let neg = false;
  if (c === 45 || c === 43) {
    neg = c === 45;
    c = text.charCodeAt(++i);
  }
  let m = 0;
  let digits = 0;
  let frac = 0;
  let dot = false;
  for (; i < end; c = text.charCodeAt(++i)) {
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      if (dot) frac++;
    } else if (c === 46 && !dot) dot = true;
    else return undefined;
  }
  if (digits === 0 || digits > 15) return undefined;
  const v = frac === 0 ? m : m / POW10[frac];
  return neg ? -v : v;
}

/** Integer milliseconds (0.0.4 timestamps) of at most 15 digits; undefined otherwise. */
export function fastInteger(text: string, start: number, end: number): number | undefined {
  let i = start;
  let neg = false;
  if (text.charCodeAt(i) === 45) {
    neg = true;
    i++;
  }
  if (i >= end || end - i > 15) return undefined;
  let m = 0;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    m = m * 10 + (c - 48);
  }
  return neg ? -m : m;
}
