/**
 * The ECS mapping of ecs.ts for a tailed line, done on the line's UTF-8 bytes:
 * one pass checks the JSON and notes where each top-level value lies, a second
 * writes the document head (everything before `event.original`'s value)
 * straight into the bulk slab, copying string values byte for byte where their
 * JSON text is already what the mapping writes. No record object, no strings
 * for keys or most values: JSON.parse and building the head as a string were
 * over half of a busy shipper's main-thread time, and their garbage most of
 * its collector's.
 *
 * Anything this path does not model exactly (nested values in mapped fields,
 * escaped keys, repeated keys, label keys the mapping would rename, very
 * deep nesting) is refused, and the caller maps the line through ecs.ts.
 * Where it does map a line, the bytes are those of lineToEcsHead.
 */
import { ctxJson, goDurationNs, MAPPED_KEYS, MAX_LABEL_CHARS, MAX_LABELS, num, originJson, PINO_LEVELS, toIso, truncate, type MapContext } from './ecs.js';
import { jsonString as q } from '../util/json-string.js';

// Value kinds; those from FALSE up have a string form (ecs.ts `str`).
const T_NONE = 0;
const T_NULL = 1;
const T_OBJ = 2;
const T_ARR = 3;
const T_FALSE = 4;
const T_TRUE = 5;
const T_NUM = 6;
const T_STR = 7;

// Flags of a scanned string.
const F_ESC = 1;
const F_NONASCII = 2;

const NF = MAPPED_KEYS.length;
function field(name: string): number {
  const i = MAPPED_KEYS.indexOf(name);
  if (i < 0) throw new Error(`ecs-bytes: ${name} is not a mapped key`);
  return i;
}
const K_TIMESTAMP_AT = field('@timestamp');
const K_TIMESTAMP = field('timestamp');
const K_TIME = field('time');
const K_TS = field('ts');
const K_LEVEL = field('level');
const K_SEVERITY = field('severity');
const K_MESSAGE = field('message');
const K_MSG = field('msg');
const K_LOGGER = field('logger');
const K_CALLER = field('caller');
const K_STACKTRACE = field('stacktrace');
const K_STACK = field('stack');
const K_ERROR = field('error');
const K_ERR = field('err');
const K_SERVICE = field('service');
const K_SERVICE_NAME = field('service_name');
const K_METHOD = field('method');
const K_PATH = field('path');
const K_STATUS = field('status');
const K_LATENCY = field('latency');
const K_LATENCY_MS = field('latency_ms');
const K_DURATION_MS = field('duration_ms');
const K_CLIENT_IP = field('client_ip');
const K_USER_AGENT = field('user_agent');
const K_TRACE_ID = field('trace_id');
const K_SPAN_ID = field('span_id');
const K_KIND = field('kind');
const K_LOG_TYPE = field('log_type');
const K_TYPE = field('type');
const K_EVENT_TYPE = field('event_type');
const K_ACTION = field('action');
const K_RESOURCE = field('resource');
const K_USER = field('user');
const K_USER_ID = field('user_id');
const K_SUCCESS = field('success');
const K_COMPONENT = field('component');

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const MAPPED_BYTES = MAPPED_KEYS.map(enc);

function fnv(h: number, b: number): number {
  return Math.imul(h ^ b, 16777619);
}
const FNV0 = 0x811c9dc5 | 0;

/** Open-addressed table from a key's hash to its mapped-field index (-1: empty). */
const TABLE_BITS = 8;
const TABLE = new Int16Array(1 << TABLE_BITS).fill(-1);
for (let i = 0; i < NF; i++) {
  let h = FNV0;
  for (const b of MAPPED_BYTES[i]) h = fnv(h, b);
  let slot = (h >>> 0) & ((1 << TABLE_BITS) - 1);
  while (TABLE[slot] >= 0) slot = (slot + 1) & ((1 << TABLE_BITS) - 1);
  TABLE[slot] = i;
}

function mappedIndex(buf: Uint8Array, s: number, e: number, h: number): number {
  let slot = (h >>> 0) & ((1 << TABLE_BITS) - 1);
  for (;;) {
    const i = TABLE[slot];
    if (i < 0) return -1;
    const name = MAPPED_BYTES[i];
    if (name.length === e - s) {
      let j = 0;
      while (j < name.length && name[j] === buf[s + j]) j++;
      if (j === name.length) return i;
    }
    slot = (slot + 1) & ((1 << TABLE_BITS) - 1);
  }
}

// The scan's result: per mapped field, and per other key in order of appearance.
const fType = new Uint8Array(NF);
const fS = new Int32Array(NF);
const fE = new Int32Array(NF);
const fFlags = new Uint8Array(NF);
const MAX_KEYS = 256;
const kS = new Int32Array(MAX_KEYS);
const kE = new Int32Array(MAX_KEYS);
const kHash = new Int32Array(MAX_KEYS);
/** 1 when the key is one the mapping would keep as it is for a label (`[A-Za-z_][A-Za-z0-9_]{0,63}`). */
const kSafe = new Uint8Array(MAX_KEYS);
const vType = new Uint8Array(MAX_KEYS);
const vS = new Int32Array(MAX_KEYS);
const vE = new Int32Array(MAX_KEYS);
const vFlags = new Uint8Array(MAX_KEYS);
let nKeys = 0;

/** Deeper nesting is left to JSON.parse. */
const MAX_DEPTH = 64;

/** 1 for JSON whitespace. */
const WS = new Uint8Array(256);
WS[0x20] = WS[0x09] = WS[0x0a] = WS[0x0d] = 1;
/** 1 for the characters a JSON escape may name after the backslash (besides `u`). */
const SHORT_ESC = new Uint8Array(256);
for (const c of '"\\/bfnrt') SHORT_ESC[c.charCodeAt(0)] = 1;
/** 1 for hex digits. */
const HEXD = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEXD[c.charCodeAt(0)] = 1;
/** 1 for bytes of a label key the mapping keeps unchanged; 2 for those that may also start it. */
const KEYC = new Uint8Array(256);
for (const c of '0123456789') KEYC[c.charCodeAt(0)] = 1;
for (const c of '_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ') KEYC[c.charCodeAt(0)] = 2;
/** Bytes inside a JSON string: 0 plain ASCII, 1 quote, 2 backslash, 3 control (invalid), 4 non-ASCII. */
const C_QUOTE = 1;
const C_BACKSLASH = 2;
const C_CONTROL = 3;
const STR_CLASS = new Uint8Array(256);
STR_CLASS.fill(C_CONTROL, 0, 0x20);
STR_CLASS.fill(4, 0x80, 0x100);
STR_CLASS[0x22] = C_QUOTE;
STR_CLASS[0x5c] = C_BACKSLASH;

function skipWs(buf: Uint8Array, i: number, end: number): number {
  while (i < end && WS[buf[i]] === 1) i++;
  return i;
}

// Set by scanString.
let strFlags = 0;

/** A string starting after its opening quote: the index of its closing quote, or -1. Sets strFlags. */
function scanString(buf: Uint8Array, i: number, end: number): number {
  let flags = 0;
  for (;;) {
    if (i >= end) return -1;
    const c = STR_CLASS[buf[i]];
    if (c === 0) {
      i++;
      continue;
    }
    if (c === C_QUOTE) break;
    if (c === C_BACKSLASH) {
      flags |= F_ESC;
      if (i + 1 >= end) return -1;
      const e = buf[i + 1];
      if (e === 0x75) {
        if (i + 5 >= end || !HEXD[buf[i + 2]] || !HEXD[buf[i + 3]] || !HEXD[buf[i + 4]] || !HEXD[buf[i + 5]]) return -1;
        i += 6;
      } else if (SHORT_ESC[e]) i += 2;
      else return -1;
      continue;
    }
    if (c === C_CONTROL) return -1;
    flags |= F_NONASCII;
    i++;
  }
  strFlags = flags;
  return i;
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/** A number in JSON's grammar starting at `i`: its end, or -1. */
function scanNumber(buf: Uint8Array, i: number, end: number): number {
  if (buf[i] === 0x2d) i++;
  if (i >= end) return -1;
  if (buf[i] === 0x30) i++;
  else if (isDigit(buf[i])) while (i < end && isDigit(buf[i])) i++;
  else return -1;
  if (i < end && buf[i] === 0x2e) {
    i++;
    if (i >= end || !isDigit(buf[i])) return -1;
    while (i < end && isDigit(buf[i])) i++;
  }
  if (i < end && (buf[i] === 0x65 || buf[i] === 0x45)) {
    i++;
    if (i < end && (buf[i] === 0x2b || buf[i] === 0x2d)) i++;
    if (i >= end || !isDigit(buf[i])) return -1;
    while (i < end && isDigit(buf[i])) i++;
  }
  return i;
}

const TRUE_BYTES = Buffer.from('true');
const FALSE_BYTES = Buffer.from('false');
const NULL_BYTES = Buffer.from('null');

/** The end of `word` if it is at `i`, else -1. */
function literal(buf: Uint8Array, i: number, end: number, word: Uint8Array): number {
  if (i + word.length > end) return -1;
  for (let j = 1; j < word.length; j++) if (buf[i + j] !== word[j]) return -1;
  return i + word.length;
}

// Set by scanValue.
let valType = 0;

/**
 * Any JSON value starting at `i` (no leading whitespace): its end, or -1.
 * Sets valType (and strFlags for a string, whose text is (i + 1, end - 1)).
 */
function scanValue(buf: Uint8Array, i: number, end: number, depth: number): number {
  if (i >= end) return -1;
  const b = buf[i];
  if (b === 0x22) {
    const close = scanString(buf, i + 1, end);
    valType = T_STR;
    return close < 0 ? -1 : close + 1;
  }
  strFlags = 0;
  if (b === 0x2d || isDigit(b)) {
    valType = T_NUM;
    return scanNumber(buf, i, end);
  }
  if (b === 0x74) {
    valType = T_TRUE;
    return literal(buf, i, end, TRUE_BYTES);
  }
  if (b === 0x66) {
    valType = T_FALSE;
    return literal(buf, i, end, FALSE_BYTES);
  }
  if (b === 0x6e) {
    valType = T_NULL;
    return literal(buf, i, end, NULL_BYTES);
  }
  if (depth >= MAX_DEPTH) return -1;
  if (b === 0x7b) {
    i = skipWs(buf, i + 1, end);
    if (i < end && buf[i] === 0x7d) {
      valType = T_OBJ;
      return i + 1;
    }
    for (;;) {
      if (i >= end || buf[i] !== 0x22) return -1;
      i = scanString(buf, i + 1, end);
      if (i < 0) return -1;
      i = skipWs(buf, i + 1, end);
      if (i >= end || buf[i] !== 0x3a) return -1;
      i = scanValue(buf, skipWs(buf, i + 1, end), end, depth + 1);
      if (i < 0) return -1;
      i = skipWs(buf, i, end);
      if (i >= end) return -1;
      if (buf[i] === 0x2c) i = skipWs(buf, i + 1, end);
      else if (buf[i] === 0x7d) break;
      else return -1;
    }
    valType = T_OBJ;
    strFlags = 0;
    return i + 1;
  }
  if (b === 0x5b) {
    i = skipWs(buf, i + 1, end);
    if (i < end && buf[i] === 0x5d) {
      valType = T_ARR;
      return i + 1;
    }
    for (;;) {
      i = scanValue(buf, i, end, depth + 1);
      if (i < 0) return -1;
      i = skipWs(buf, i, end);
      if (i >= end) return -1;
      if (buf[i] === 0x2c) i = skipWs(buf, i + 1, end);
      else if (buf[i] === 0x5d) break;
      else return -1;
    }
    valType = T_ARR;
    strFlags = 0;
    return i + 1;
  }
  return -1;
}

/**
 * Checks the line is one JSON object this path maps exactly and notes where
 * its top-level values are; false leaves the line to ecs.ts.
 */
function scanLine(buf: Uint8Array, start: number, end: number): boolean {
  fType.fill(T_NONE);
  nKeys = 0;
  let i = skipWs(buf, start, end);
  if (i >= end || buf[i] !== 0x7b) return false;
  i = skipWs(buf, i + 1, end);
  if (i < end && buf[i] === 0x7d) return skipWs(buf, i + 1, end) === end;
  for (;;) {
    if (i >= end || buf[i] !== 0x22) return false;
    // The key: hashed for the mapped-key table; escaped keys are left to JSON.parse.
    const ks = i + 1;
    let h = FNV0;
    for (i = ks; ; i++) {
      if (i >= end) return false;
      const b = buf[i];
      if (b === 0x22) break;
      if (b === 0x5c || b < 0x20) return false;
      h = fnv(h, b);
    }
    const ke = i;
    i = skipWs(buf, ke + 1, end);
    if (i >= end || buf[i] !== 0x3a) return false;
    const vs = skipWs(buf, i + 1, end);
    i = scanValue(buf, vs, end, 1);
    if (i < 0) return false;
    const t = valType;
    const f = mappedIndex(buf, ks, ke, h);
    if (f >= 0) {
      // Repeated keys (the last wins) and nested values of mapped keys are left to JSON.parse.
      if (fType[f] !== T_NONE || t === T_OBJ || t === T_ARR) return false;
      fType[f] = t;
      fS[f] = t === T_STR ? vs + 1 : vs;
      fE[f] = t === T_STR ? i - 1 : i;
      fFlags[f] = strFlags;
    } else {
      if (nKeys === MAX_KEYS) return false;
      for (let k = 0; k < nKeys; k++) if (kHash[k] === h && sameBytes(buf, kS[k], kE[k], ks, ke)) return false;
      const n = nKeys++;
      kS[n] = ks;
      kE[n] = ke;
      kHash[n] = h;
      let safe = ke > ks && ke - ks <= 64 && KEYC[buf[ks]] === 2 ? 1 : 0;
      for (let j = ks + 1; safe && j < ke; j++) if (KEYC[buf[j]] === 0) safe = 0;
      kSafe[n] = safe;
      vType[n] = t;
      vS[n] = t === T_STR ? vs + 1 : vs;
      vE[n] = t === T_STR ? i - 1 : i;
      vFlags[n] = strFlags;
    }
    i = skipWs(buf, i, end);
    if (i >= end) return false;
    if (buf[i] === 0x2c) i = skipWs(buf, i + 1, end);
    else if (buf[i] === 0x7d) break;
    else return false;
  }
  return skipWs(buf, i + 1, end) === end;
}

function sameBytes(buf: Uint8Array, a: number, ae: number, b: number, be: number): boolean {
  if (ae - a !== be - b) return false;
  for (let j = 0; j < ae - a; j++) if (buf[a + j] !== buf[b + j]) return false;
  return true;
}

// ---- Writing -------------------------------------------------------------
// Helpers take the output offset and return the new one: the offset lives in
// registers, not in a module variable loaded and stored for every byte.

/** The line being written (read-only while a head is written). */
let src: Buffer = Buffer.alloc(0);

function put(out: Buffer, o: number, bytes: Buffer): number {
  const n = bytes.length;
  // Past a dozen bytes a TypedArray set (a plain memory move) beats the loop; Buffer copy takes a native call and a view.
  if (n > 12) {
    out.set(bytes, o);
    return o + n;
  }
  for (let j = 0; j < n; j++) out[o + j] = bytes[j];
  return o + n;
}

function copy(out: Buffer, o: number, s: number, e: number): number {
  const buf = src;
  if (e - s > 32) return o + buf.copy(out, o, s, e);
  for (let j = s; j < e; j++) out[o++] = buf[j];
  return o;
}

function putString(out: Buffer, o: number, s: string): number {
  return o + out.write(s, o, 'utf8');
}

/** The decoded text of a string value at (s, e). */
function decode(s: number, e: number, flags: number): string {
  return flags & F_ESC ? (JSON.parse(src.toString('utf8', s - 1, e + 1)) as string) : src.toString('utf8', s, e);
}

/** A string value as JSON: its own text unless it has escapes (JSON.stringify may write those differently). */
function putStr(out: Buffer, o: number, s: number, e: number, flags: number): number {
  if (flags & F_ESC) return putString(out, o, q(decode(s, e, flags)));
  out[o++] = 0x22;
  o = copy(out, o, s, e);
  out[o++] = 0x22;
  return o;
}

/** True when a number's JSON text is already how String(Number(text)) writes it (plain integers of up to 15 digits). */
function canonicalInt(s: number, e: number): boolean {
  const buf = src;
  let i = s;
  if (buf[i] === 0x2d) i++;
  const digits = e - i;
  if (digits < 1 || digits > 15 || (buf[i] === 0x30 && (digits > 1 || i > s))) return false;
  for (; i < e; i++) if (!isDigit(buf[i])) return false;
  return true;
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * Number(text) of a JSON number. Up to 15 significant digits and no exponent
 * (what loggers write), digits / 10^k is exact: both are exact doubles and
 * the division rounds once, as the decimal conversion does.
 */
function numberOf(s: number, e: number): number {
  const buf = src;
  let i = s;
  const neg = buf[i] === 0x2d;
  if (neg) i++;
  let m = 0;
  let digits = 0;
  let frac = -1;
  for (; i < e; i++) {
    const b = buf[i];
    if (b === 0x2e) frac = 0;
    else if (b >= 0x30 && b <= 0x39) {
      m = m * 10 + (b - 0x30);
      if (m > 0) digits++;
      if (frac >= 0) frac++;
    } else break;
  }
  if (i < e || digits > 15 || frac > 22) return Number(src.toString('latin1', s, e));
  const v = frac > 0 ? m / POW10[frac] : m;
  return neg ? -v : v;
}

/** String(Number(text)) of a number value. */
function putNumText(out: Buffer, o: number, s: number, e: number): number {
  return canonicalInt(s, e) ? copy(out, o, s, e) : putString(out, o, String(numberOf(s, e)));
}

/** num(n) for any number. */
function putNum(out: Buffer, o: number, n: number): number {
  if (!(Number.isSafeInteger(n) && n > -1e15 && n < 1e15)) return putString(out, o, num(n));
  if (n < 0) {
    out[o++] = 0x2d;
    n = -n;
  }
  if (n < 10) {
    out[o++] = 0x30 + n;
    return o;
  }
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  for (let j = o + digits - 1; j >= o; j--) {
    out[j] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return o + digits;
}

/** ecs.ts `str(value)` of a value, as JSON; the value must have a string form. */
function putStrForm(out: Buffer, o: number, t: number, s: number, e: number, flags: number): number {
  if (t === T_STR) return putStr(out, o, s, e, flags);
  if (t === T_NUM) {
    out[o++] = 0x22;
    o = putNumText(out, o, s, e);
    out[o++] = 0x22;
    return o;
  }
  return put(out, o, t === T_TRUE ? B_TRUE_Q : B_FALSE_Q);
}

function putField(out: Buffer, o: number, f: number): number {
  return putStrForm(out, o, fType[f], fS[f], fE[f], fFlags[f]);
}

/** ecs.ts `str(value)` as a string (for the rarer fields that need the text). */
function strForm(t: number, s: number, e: number, flags: number): string | undefined {
  if (t === T_STR) return decode(s, e, flags);
  if (t === T_NUM) return String(numberOf(s, e));
  if (t === T_TRUE) return 'true';
  if (t === T_FALSE) return 'false';
  return undefined;
}

function fStrForm(f: number): string | undefined {
  return strForm(fType[f], fS[f], fE[f], fFlags[f]);
}

function hasStrForm(f: number): boolean {
  return fType[f] >= T_FALSE;
}

/** A value with a string form that is not the empty string (ecs.ts tests those with `if (x)`). */
function truthyStrForm(f: number): boolean {
  return fType[f] >= T_FALSE && !(fType[f] === T_STR && fE[f] === fS[f]);
}

/** `a ?? b`: the first field present and not null, else -1. */
function first2(a: number, b: number): number {
  return fType[a] > T_NULL ? a : fType[b] > T_NULL ? b : -1;
}

/** ASCII case change of a string value with no escapes or non-ASCII bytes (toLowerCase/toUpperCase agree there). */
function putCased(out: Buffer, o: number, s: number, e: number, upper: boolean): number {
  const buf = src;
  out[o++] = 0x22;
  for (let j = s; j < e; j++) {
    const b = buf[j];
    out[o++] = upper ? (b >= 0x61 && b <= 0x7a ? b - 32 : b) : b >= 0x41 && b <= 0x5a ? b + 32 : b;
  }
  out[o++] = 0x22;
  return o;
}

/** A group member's start: the group's opening (`,"log":{`) before its first member, a comma before the others. */
function member(out: Buffer, o: number, first: boolean, open: Buffer, key: Buffer): number {
  if (first) o = put(out, o, open);
  else out[o++] = 0x2c;
  return put(out, o, key);
}

const B = (s: string): Buffer => Buffer.from(s, 'latin1');
const B_TRUE_Q = B('"true"');
const B_FALSE_Q = B('"false"');
const B_TS = B('{"@timestamp":');
const B_LOG = B(',"log":{');
const B_LEVEL = B('"level":');
const B_LOGGER = B('"logger":');
const B_ORIGIN = B('"origin":');
const B_FILE_NAME = B('{"file":{"name":');
const B_LINE = B(',"line":');
const B_CLOSE2 = B('}}');
const B_MESSAGE = B(',"message":');
const B_SERVICE = B(',"service":{"name":');
const B_ERROR = B(',"error":{');
const B_ERR_MESSAGE = B('"message":');
const B_STACK_TRACE = B('"stack_trace":');
const B_HTTP = B(',"http":{');
const B_REQUEST = B('"request":{"method":');
const B_RESPONSE = B('"response":{"status_code":');
const B_URL = B(',"url":{"path":');
const B_CLIENT = B(',"client":{"ip":');
const B_UA = B(',"user_agent":{"original":');
const B_TRACE = B(',"trace":{"id":');
const B_SPAN = B(',"span":{"id":');
const B_USER = B(',"user":{');
const B_NAME = B('"name":');
const B_ID = B('"id":');
const B_LABELS = B(',"labels":{');
const B_RESOURCE = B('"resource":');
const B_EVENT = B(',"event":{');
const B_DURATION = B('"duration":');
const B_AUDIT = B('"kind":"event","category":["iam"],"type":["change"]');
const B_BUSINESS = B('"kind":"event","category":["process"],"type":["info"]');
const B_ACCESS = B('"kind":"event","category":["web"],"type":["access"]');
const B_ACTION = B(',"action":');
const B_OUTCOME_SUCCESS = B(',"outcome":"success"');
const B_OUTCOME_FAILURE = B(',"outcome":"failure"');
const B_OUTCOME_UNKNOWN = B(',"outcome":"unknown"');
const B_ORIGINAL = B(',"original":');
const EMPTY = Buffer.alloc(0);

interface CtxBytes {
  file: Buffer;
  /** `file` without its leading comma, as a group's first member. */
  fileMember: Buffer;
  service: Buffer;
  app: Buffer;
  access: Buffer;
  audit: Buffer;
  business: Buffer;
}
const ctxBytesCache = new WeakMap<MapContext, CtxBytes>();
let lastCtx: MapContext | undefined;
let lastCtxBytes: CtxBytes | undefined;

function ctxBytes(ctx: MapContext): CtxBytes {
  if (ctx === lastCtx) return lastCtxBytes!;
  let c = ctxBytesCache.get(ctx);
  if (!c) {
    const j = ctxJson(ctx);
    // The dataset fragments start with a comma: here they may be the event's first member.
    c = {
      file: Buffer.from(j.file),
      fileMember: Buffer.from(j.file.slice(1)),
      service: Buffer.from(j.service),
      app: Buffer.from(j.app.slice(1)),
      access: Buffer.from(j.access),
      audit: Buffer.from(j.audit),
      business: Buffer.from(j.business),
    };
    ctxBytesCache.set(ctx, c);
  }
  lastCtx = ctx;
  lastCtxBytes = c;
  return c;
}

/** Room ecsHeadBytes may need in `dst` for a line of `lineBytes` bytes. */
export function ecsHeadWorst(ctx: MapContext, lineBytes: number): number {
  const c = ctxBytes(ctx);
  // Constants and numbers, plus each value at most once at up to 3 bytes per byte (case mapping can grow text).
  return 4096 + c.file.length + c.service.length + c.business.length + c.audit.length + c.access.length + 3 * lineBytes;
}

/**
 * Writes the ECS document head of the JSON line `buf[start, end)` into `dst`
 * at `off` (which needs ecsHeadWorst bytes of room): the bytes of
 * lineToEcsHead for the line's text. Returns the new offset, or -1 when the
 * line must go through ecs.ts instead (what was written is then meaningless).
 * The bytes must be valid UTF-8 for the result to hold; callers check that as
 * they write `event.original`.
 */
export function ecsHeadBytes(buf: Buffer, start: number, end: number, ctx: MapContext, dst: Buffer, off: number): number {
  if (!scanLine(buf, start, end)) return -1;
  // Label keys that the mapping would rename (and so might merge), or that
  // JavaScript enumerates out of order (integer-like), are left to it.
  for (let k = 0; k < nKeys; k++) if (vType[k] >= T_FALSE && !kSafe[k]) return -1;
  src = buf;
  try {
    return writeHead(dst, off, ctxBytes(ctx));
  } finally {
    src = EMPTY;
  }
}

function writeHead(out: Buffer, o: number, cb: CtxBytes): number {
  // @timestamp
  o = put(out, o, B_TS);
  let tf = fType[K_TIMESTAMP_AT] > T_NULL ? K_TIMESTAMP_AT : fType[K_TIMESTAMP] > T_NULL ? K_TIMESTAMP : fType[K_TIME] > T_NULL ? K_TIME : K_TS;
  if (fType[tf] <= T_NULL) tf = -1;
  if (tf >= 0 && fType[tf] === T_STR && fFlags[tf] === 0 && isoUtc(fS[tf], fE[tf])) o = putStr(out, o, fS[tf], fE[tf], 0);
  else {
    let v: unknown;
    if (tf >= 0) {
      const t = fType[tf];
      v = t === T_STR ? decode(fS[tf], fE[tf], fFlags[tf]) : t === T_NUM ? numberOf(fS[tf], fE[tf]) : t === T_TRUE;
    }
    o = putString(out, o, q(toIso(v) ?? new Date().toISOString()));
  }

  // log
  let first = true;
  const lf = first2(K_LEVEL, K_SEVERITY);
  if (lf >= 0) {
    const t = fType[lf];
    if (t === T_NUM) {
      const n = numberOf(fS[lf], fE[lf]);
      o = member(out, o, first, B_LOG, B_LEVEL);
      first = false;
      o = putString(out, o, q(PINO_LEVELS[n] ?? String(n)));
    } else if (t === T_STR && fE[lf] > fS[lf]) {
      o = member(out, o, first, B_LOG, B_LEVEL);
      first = false;
      o = fFlags[lf] === 0 ? putCased(out, o, fS[lf], fE[lf], false) : putString(out, o, q(decode(fS[lf], fE[lf], fFlags[lf]).toLowerCase()));
    }
  }
  const gf = fType[K_LOGGER] === T_STR ? K_LOGGER : fType[K_COMPONENT] === T_STR ? K_COMPONENT : -1;
  if (gf >= 0) {
    o = member(out, o, first, B_LOG, B_LOGGER);
    first = false;
    o = putStr(out, o, fS[gf], fE[gf], fFlags[gf]);
  }
  if (fType[K_CALLER] === T_STR) {
    o = member(out, o, first, B_LOG, B_ORIGIN);
    first = false;
    o = putOrigin(out, o, fS[K_CALLER], fE[K_CALLER], fFlags[K_CALLER]);
  }
  if (cb.file.length) {
    // The context's fragment starts with its comma.
    if (first) o = put(out, o, B_LOG);
    o = put(out, o, first ? cb.fileMember : cb.file);
    first = false;
  }
  if (!first) out[o++] = 0x7d;

  const mf = first2(K_MESSAGE, K_MSG);
  if (mf >= 0 && hasStrForm(mf)) {
    o = put(out, o, B_MESSAGE);
    o = putField(out, o, mf);
  }
  o = put(out, o, B_SERVICE);
  if (hasStrForm(K_SERVICE_NAME)) o = putField(out, o, K_SERVICE_NAME);
  else if (fType[K_SERVICE] === T_STR) o = putStr(out, o, fS[K_SERVICE], fE[K_SERVICE], fFlags[K_SERVICE]);
  else o = put(out, o, cb.service);
  out[o++] = 0x7d;

  // error (nested err objects never reach here)
  first = true;
  const ef = first2(K_ERR, K_ERROR);
  if (ef >= 0 && fType[ef] === T_STR) {
    o = member(out, o, first, B_ERROR, B_ERR_MESSAGE);
    first = false;
    o = putStr(out, o, fS[ef], fE[ef], fFlags[ef]);
  }
  const sf = first2(K_STACKTRACE, K_STACK);
  if (sf >= 0 && fType[sf] === T_STR) {
    o = member(out, o, first, B_ERROR, B_STACK_TRACE);
    first = false;
    o = putStr(out, o, fS[sf], fE[sf], fFlags[sf]);
  }
  if (!first) out[o++] = 0x7d;

  // http
  const isAccess = hasStrForm(K_METHOD) && hasStrForm(K_PATH);
  const status = statusNumber();
  first = true;
  if (truthyStrForm(K_METHOD)) {
    o = member(out, o, first, B_HTTP, B_REQUEST);
    first = false;
    if (fType[K_METHOD] === T_STR && fFlags[K_METHOD] === 0) o = putCased(out, o, fS[K_METHOD], fE[K_METHOD], true);
    else o = putString(out, o, q(fStrForm(K_METHOD)!.toUpperCase()));
    out[o++] = 0x7d;
  }
  if (isAccess && Number.isInteger(status)) {
    o = member(out, o, first, B_HTTP, B_RESPONSE);
    first = false;
    o = putNum(out, o, status);
    out[o++] = 0x7d;
  }
  if (!first) out[o++] = 0x7d;
  if (truthyStrForm(K_PATH)) {
    o = put(out, o, B_URL);
    o = putField(out, o, K_PATH);
    out[o++] = 0x7d;
  }

  // event.duration (written with the event group, last)
  let ns: number | undefined;
  const lt = fType[K_LATENCY];
  if (lt === T_STR) ns = goDurationNs(decode(fS[K_LATENCY], fE[K_LATENCY], fFlags[K_LATENCY]));
  else if (lt === T_NUM) ns = Math.round(numberOf(fS[K_LATENCY], fE[K_LATENCY]) * 1e9);
  else if (fType[K_LATENCY_MS] === T_NUM) ns = Math.round(numberOf(fS[K_LATENCY_MS], fE[K_LATENCY_MS]) * 1e6);
  else if (fType[K_DURATION_MS] === T_NUM) ns = Math.round(numberOf(fS[K_DURATION_MS], fE[K_DURATION_MS]) * 1e6);

  o = putObjStr(out, o, K_CLIENT_IP, B_CLIENT);
  o = putObjStr(out, o, K_USER_AGENT, B_UA);
  o = putObjStr(out, o, K_TRACE_ID, B_TRACE);
  o = putObjStr(out, o, K_SPAN_ID, B_SPAN);

  first = true;
  if (truthyStrForm(K_USER)) {
    o = member(out, o, first, B_USER, B_NAME);
    first = false;
    o = putField(out, o, K_USER);
  }
  if (truthyStrForm(K_USER_ID)) {
    o = member(out, o, first, B_USER, B_ID);
    first = false;
    o = putField(out, o, K_USER_ID);
  }
  if (!first) out[o++] = 0x7d;

  // The kind decides the event members and whether `resource` leads the labels.
  const kf = fType[K_KIND] > T_NULL ? K_KIND : fType[K_LOG_TYPE] > T_NULL ? K_LOG_TYPE : fType[K_TYPE] > T_NULL ? K_TYPE : -1;
  const kind = kf >= 0 ? fStrForm(kf)?.toLowerCase() : undefined;
  let k = KIND_APP;
  if (kind === 'audit' || (kind === undefined && fType[K_ACTION] !== T_NONE && fType[K_RESOURCE] !== T_NONE)) k = KIND_AUDIT;
  else if (kind === 'business' || (kind === undefined && fType[K_EVENT_TYPE] !== T_NONE)) k = KIND_BUSINESS;
  else if (kind === 'access' || isAccess) k = KIND_ACCESS;

  // labels
  first = true;
  if (k === KIND_AUDIT && truthyStrForm(K_RESOURCE)) {
    o = member(out, o, first, B_LABELS, B_RESOURCE);
    first = false;
    o = putField(out, o, K_RESOURCE);
  }
  for (let j = 0, n = 0; j < nKeys && n < MAX_LABELS; j++) {
    const t = vType[j];
    if (t < T_FALSE) continue;
    if (first) o = put(out, o, B_LABELS);
    else out[o++] = 0x2c;
    first = false;
    out[o++] = 0x22;
    o = copy(out, o, kS[j], kE[j]);
    out[o++] = 0x22;
    out[o++] = 0x3a;
    if (t === T_STR && vE[j] - vS[j] > MAX_LABEL_CHARS) o = putString(out, o, q(truncate(decode(vS[j], vE[j], vFlags[j]), MAX_LABEL_CHARS)));
    else o = putStrForm(out, o, t, vS[j], vE[j], vFlags[j]);
    n++;
  }
  if (!first) out[o++] = 0x7d;

  // event
  o = put(out, o, B_EVENT);
  if (ns !== undefined && Number.isFinite(ns)) {
    o = put(out, o, B_DURATION);
    o = putNum(out, o, ns);
    out[o++] = 0x2c;
  }
  if (k === KIND_AUDIT) {
    o = put(out, o, B_AUDIT);
    if (hasStrForm(K_ACTION)) {
      o = put(out, o, B_ACTION);
      o = putField(out, o, K_ACTION);
    }
    if (fType[K_SUCCESS] !== T_NONE) {
      const st = fType[K_SUCCESS];
      const ok = st === T_TRUE || (st === T_STR && decode(fS[K_SUCCESS], fE[K_SUCCESS], fFlags[K_SUCCESS]) === 'true');
      o = put(out, o, ok ? B_OUTCOME_SUCCESS : B_OUTCOME_FAILURE);
    }
    o = put(out, o, cb.audit);
  } else if (k === KIND_BUSINESS) {
    o = put(out, o, B_BUSINESS);
    const af = first2(K_EVENT_TYPE, K_ACTION);
    if (af >= 0 && hasStrForm(af)) {
      o = put(out, o, B_ACTION);
      o = putField(out, o, af);
    }
    const st = fStrForm(K_STATUS)?.toLowerCase();
    if (st) o = put(out, o, st === 'success' || st === 'ok' ? B_OUTCOME_SUCCESS : st === 'failure' || st === 'error' || st === 'failed' ? B_OUTCOME_FAILURE : B_OUTCOME_UNKNOWN);
    o = put(out, o, cb.business);
  } else if (k === KIND_ACCESS) {
    o = put(out, o, B_ACCESS);
    if (Number.isInteger(status)) o = put(out, o, status >= 400 ? B_OUTCOME_FAILURE : B_OUTCOME_SUCCESS);
    o = put(out, o, cb.access);
  } else o = put(out, o, cb.app);
  return put(out, o, B_ORIGINAL);
}

const KIND_APP = 0;
const KIND_AUDIT = 1;
const KIND_BUSINESS = 2;
const KIND_ACCESS = 3;

/** `,"client":{"ip":"..."}` and the like: written when the field is a string. */
function putObjStr(out: Buffer, o: number, f: number, head: Buffer): number {
  if (fType[f] !== T_STR) return o;
  o = put(out, o, head);
  o = putStr(out, o, fS[f], fE[f], fFlags[f]);
  out[o++] = 0x7d;
  return o;
}

/** Number(rec.status), as ecs.ts computes it. */
function statusNumber(): number {
  const t = fType[K_STATUS];
  if (t === T_NONE) return NaN;
  if (t === T_NULL || t === T_FALSE) return 0;
  if (t === T_TRUE) return 1;
  if (t === T_NUM) return numberOf(fS[K_STATUS], fE[K_STATUS]);
  return Number(decode(fS[K_STATUS], fE[K_STATUS], fFlags[K_STATUS]));
}

/** `YYYY-MM-DDTHH:MM:SS.mmmZ`, which toIso keeps as it is. */
function isoUtc(s: number, e: number): boolean {
  if (e - s !== 24) return false;
  const buf = src;
  for (let j = 0; j < 24; j++) {
    const b = buf[s + j];
    const want = ISO_SHAPE[j];
    if (want === 0 ? !isDigit(b) : b !== want) return false;
  }
  return true;
}
/** 0 where a digit goes. */
const ISO_SHAPE = Uint8Array.from('0000-00-00T00:00:00.000Z', (c) => (c === '0' ? 0 : c.charCodeAt(0)));

/** ecs.ts originJson for a caller string value. */
function putOrigin(out: Buffer, o: number, s: number, e: number, flags: number): number {
  if (flags & F_ESC) return putString(out, o, originJson(decode(s, e, flags)));
  const buf = src;
  let colon = e - 1;
  while (colon >= s && buf[colon] !== 0x3a) colon--;
  let digits = colon >= s && colon + 1 < e;
  for (let j = colon + 1; digits && j < e; j++) if (!isDigit(buf[j])) digits = false;
  o = put(out, o, B_FILE_NAME);
  if (!digits) {
    o = putStr(out, o, s, e, 0);
    return put(out, o, B_CLOSE2);
  }
  o = putStr(out, o, s, colon, 0);
  o = put(out, o, B_LINE);
  if (e - colon - 1 <= 15 && (buf[colon + 1] !== 0x30 || e - colon - 1 === 1)) o = copy(out, o, colon + 1, e);
  else o = putString(out, o, num(Number(buf.toString('latin1', colon + 1, e))));
  return put(out, o, B_CLOSE2);
}
