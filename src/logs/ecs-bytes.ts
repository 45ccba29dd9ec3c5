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

// Set by the scanners below.
let strFlags = 0;
let strHash = 0;
let valType = 0;

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

function skipWs(buf: Uint8Array, i: number, end: number): number {
  while (i < end && WS[buf[i]] === 1) i++;
  return i;
}

/** A string starting after its opening quote: the index of its closing quote, or -1. Sets strFlags and strHash. */
function scanString(buf: Uint8Array, i: number, end: number): number {
  let flags = 0;
  let h = FNV0;
  while (i < end) {
    const b = buf[i];
    if (b === 0x22) {
      strFlags = flags;
      strHash = h;
      return i;
    }
    if (b < 0x20) return -1;
    h = fnv(h, b);
    if (b === 0x5c) {
      flags |= F_ESC;
      const c = buf[i + 1];
      if (i + 1 >= end) return -1;
      if (c === 0x75) {
        if (i + 5 >= end || !HEXD[buf[i + 2]] || !HEXD[buf[i + 3]] || !HEXD[buf[i + 4]] || !HEXD[buf[i + 5]]) return -1;
        i += 6;
      } else if (SHORT_ESC[c]) i += 2;
      else return -1;
      continue;
    }
    if (b >= 0x80) flags |= F_NONASCII;
    i++;
  }
  return -1;
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

/**
 * Any JSON value starting at `i` (no leading whitespace): its end, or -1.
 * Sets valType; for a string, the value's range is (i + 1, end - 1).
 */
function scanValue(buf: Uint8Array, i: number, end: number, depth: number): number {
  if (i >= end) return -1;
  const b = buf[i];
  if (b === 0x22) {
    const close = scanString(buf, i + 1, end);
    valType = T_STR;
    return close < 0 ? -1 : close + 1;
  }
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
    const ks = i + 1;
    const ke = scanString(buf, ks, end);
    if (ke < 0 || strFlags & F_ESC) return false;
    const kh = strHash;
    i = skipWs(buf, ke + 1, end);
    if (i >= end || buf[i] !== 0x3a) return false;
    const vs = skipWs(buf, i + 1, end);
    strFlags = 0;
    i = scanValue(buf, vs, end, 1);
    if (i < 0) return false;
    const t = valType;
    const flags = strFlags;
    const f = mappedIndex(buf, ks, ke, kh);
    if (f >= 0) {
      // Repeated keys (the last wins) and nested values of mapped keys are left to JSON.parse.
      if (fType[f] !== T_NONE || t === T_OBJ || t === T_ARR) return false;
      fType[f] = t;
      fS[f] = t === T_STR ? vs + 1 : vs;
      fE[f] = t === T_STR ? i - 1 : i;
      fFlags[f] = flags;
    } else {
      if (nKeys === MAX_KEYS) return false;
      for (let k = 0; k < nKeys; k++) if (kHash[k] === kh && sameBytes(buf, kS[k], kE[k], ks, ke)) return false;
      const n = nKeys++;
      kS[n] = ks;
      kE[n] = ke;
      kHash[n] = kh;
      let safe = ke > ks && ke - ks <= 64 && KEYC[buf[ks]] === 2 ? 1 : 0;
      for (let j = ks + 1; safe && j < ke; j++) if (KEYC[buf[j]] === 0) safe = 0;
      kSafe[n] = safe;
      vType[n] = t;
      vS[n] = t === T_STR ? vs + 1 : vs;
      vE[n] = t === T_STR ? i - 1 : i;
      vFlags[n] = flags;
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

let src: Buffer;
let out: Buffer;
let o = 0;

function put(bytes: Uint8Array): void {
  for (let j = 0; j < bytes.length; j++) out[o++] = bytes[j];
}

function copy(s: number, e: number): void {
  if (e - s > 64) {
    o += src.copy(out, o, s, e);
    return;
  }
  for (let j = s; j < e; j++) out[o++] = src[j];
}

function putString(s: string): void {
  o += out.write(s, o, 'utf8');
}

/** The decoded text of a string value at (s, e). */
function decode(s: number, e: number, flags: number): string {
  return flags & F_ESC ? (JSON.parse(src.toString('utf8', s - 1, e + 1)) as string) : src.toString('utf8', s, e);
}

/** A string value as JSON: its own text unless it has escapes (JSON.stringify may write those differently). */
function putStr(s: number, e: number, flags: number): void {
  if (flags & F_ESC) {
    putString(q(decode(s, e, flags)));
    return;
  }
  out[o++] = 0x22;
  copy(s, e);
  out[o++] = 0x22;
}

/** True when a number's JSON text is already how String(Number(text)) writes it (plain integers of up to 15 digits). */
function canonicalInt(s: number, e: number): boolean {
  let i = s;
  if (src[i] === 0x2d) i++;
  const digits = e - i;
  if (digits < 1 || digits > 15 || (src[i] === 0x30 && (digits > 1 || i > s))) return false;
  for (; i < e; i++) if (!isDigit(src[i])) return false;
  return true;
}

function numberOf(s: number, e: number): number {
  return Number(src.toString('latin1', s, e));
}

/** String(Number(text)) of a number value. */
function putNumText(s: number, e: number): void {
  if (canonicalInt(s, e)) copy(s, e);
  else putString(String(numberOf(s, e)));
}

/** num(n) for any number. */
function putNum(n: number): void {
  if (Number.isSafeInteger(n) && n > -1e15 && n < 1e15) putInt(n);
  else putString(num(n));
}

function putInt(n: number): void {
  if (n < 0) {
    out[o++] = 0x2d;
    n = -n;
  }
  if (n < 10) {
    out[o++] = 0x30 + n;
    return;
  }
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  for (let j = o + digits - 1; j >= o; j--) {
    out[j] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  o += digits;
}

/** ecs.ts `str(value)` of a mapped field, as JSON; the field must have a string form. */
function putStrForm(t: number, s: number, e: number, flags: number): void {
  if (t === T_STR) putStr(s, e, flags);
  else if (t === T_NUM) {
    out[o++] = 0x22;
    putNumText(s, e);
    out[o++] = 0x22;
  } else put(t === T_TRUE ? B_TRUE_Q : B_FALSE_Q);
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

/** `a ?? b ?? ...`: the first field present and not null, else -1. */
function first2(a: number, b: number): number {
  return fType[a] > T_NULL ? a : fType[b] > T_NULL ? b : -1;
}

/** ASCII case change of a string value with no escapes or non-ASCII bytes (toLowerCase/toUpperCase agree there). */
function putCased(s: number, e: number, upper: boolean): void {
  out[o++] = 0x22;
  for (let j = s; j < e; j++) {
    const b = src[j];
    out[o++] = upper ? (b >= 0x61 && b <= 0x7a ? b - 32 : b) : b >= 0x41 && b <= 0x5a ? b + 32 : b;
  }
  out[o++] = 0x22;
}

// Groups (`,"log":{...}`): opened by their first member.
let groupOpen = false;

function member(open: Uint8Array, key: Uint8Array): void {
  if (groupOpen) out[o++] = 0x2c;
  else {
    put(open);
    groupOpen = true;
  }
  put(key);
}

function closeGroup(): void {
  if (groupOpen) out[o++] = 0x7d;
  groupOpen = false;
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

interface CtxBytes {
  file: Buffer;
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
  out = dst;
  o = off;
  groupOpen = false;
  const cb = ctxBytes(ctx);

  // @timestamp
  put(B_TS);
  let tf = fType[K_TIMESTAMP_AT] > T_NULL ? K_TIMESTAMP_AT : fType[K_TIMESTAMP] > T_NULL ? K_TIMESTAMP : fType[K_TIME] > T_NULL ? K_TIME : K_TS;
  if (fType[tf] <= T_NULL) tf = -1;
  if (tf >= 0 && fType[tf] === T_STR && fFlags[tf] === 0 && isoUtc(fS[tf], fE[tf])) putStr(fS[tf], fE[tf], 0);
  else {
    let v: unknown;
    if (tf >= 0) {
      const t = fType[tf];
      v = t === T_STR ? decode(fS[tf], fE[tf], fFlags[tf]) : t === T_NUM ? numberOf(fS[tf], fE[tf]) : t === T_TRUE;
    }
    putString(q(toIso(v) ?? new Date().toISOString()));
  }

  // log
  const lf = first2(K_LEVEL, K_SEVERITY);
  if (lf >= 0) {
    const t = fType[lf];
    if (t === T_NUM) {
      const n = numberOf(fS[lf], fE[lf]);
      member(B_LOG, B_LEVEL);
      putString(q(PINO_LEVELS[n] ?? String(n)));
    } else if (t === T_STR && fE[lf] > fS[lf]) {
      member(B_LOG, B_LEVEL);
      if (fFlags[lf] === 0) putCased(fS[lf], fE[lf], false);
      else putString(q(decode(fS[lf], fE[lf], fFlags[lf]).toLowerCase()));
    }
  }
  if (fType[K_LOGGER] === T_STR) {
    member(B_LOG, B_LOGGER);
    putStr(fS[K_LOGGER], fE[K_LOGGER], fFlags[K_LOGGER]);
  } else if (fType[K_COMPONENT] === T_STR) {
    member(B_LOG, B_LOGGER);
    putStr(fS[K_COMPONENT], fE[K_COMPONENT], fFlags[K_COMPONENT]);
  }
  if (fType[K_CALLER] === T_STR) {
    member(B_LOG, B_ORIGIN);
    putOrigin(fS[K_CALLER], fE[K_CALLER], fFlags[K_CALLER]);
  }
  if (cb.file.length) {
    member(B_LOG, EMPTY);
    // cj.file starts with its own comma: drop it when it opens the group.
    if (out[o - 1] === 0x7b) put(cb.file.subarray(1));
    else {
      o--;
      put(cb.file);
    }
  }
  closeGroup();

  const mf = first2(K_MESSAGE, K_MSG);
  if (mf >= 0 && hasStrForm(mf)) {
    put(B_MESSAGE);
    putStrForm(fType[mf], fS[mf], fE[mf], fFlags[mf]);
  }
  put(B_SERVICE);
  if (hasStrForm(K_SERVICE_NAME)) putStrForm(fType[K_SERVICE_NAME], fS[K_SERVICE_NAME], fE[K_SERVICE_NAME], fFlags[K_SERVICE_NAME]);
  else if (fType[K_SERVICE] === T_STR) putStr(fS[K_SERVICE], fE[K_SERVICE], fFlags[K_SERVICE]);
  else put(cb.service);
  out[o++] = 0x7d;

  // error (nested err objects never reach here)
  const ef = first2(K_ERR, K_ERROR);
  if (ef >= 0 && fType[ef] === T_STR) {
    member(B_ERROR, B_ERR_MESSAGE);
    putStr(fS[ef], fE[ef], fFlags[ef]);
  }
  const sf = first2(K_STACKTRACE, K_STACK);
  if (sf >= 0 && fType[sf] === T_STR) {
    member(B_ERROR, B_STACK_TRACE);
    putStr(fS[sf], fE[sf], fFlags[sf]);
  }
  closeGroup();

  // http
  const hasMethod = hasStrForm(K_METHOD);
  const hasPath = hasStrForm(K_PATH);
  const isAccess = hasMethod && hasPath;
  const status = statusNumber();
  if (hasMethod && !(fType[K_METHOD] === T_STR && fE[K_METHOD] === fS[K_METHOD])) {
    member(B_HTTP, B_REQUEST);
    if (fType[K_METHOD] === T_STR && fFlags[K_METHOD] === 0) putCased(fS[K_METHOD], fE[K_METHOD], true);
    else putString(q(fStrForm(K_METHOD)!.toUpperCase()));
    out[o++] = 0x7d;
  }
  if (isAccess && Number.isInteger(status)) {
    member(B_HTTP, B_RESPONSE);
    putNum(status);
    out[o++] = 0x7d;
  }
  closeGroup();
  if (hasPath && !(fType[K_PATH] === T_STR && fE[K_PATH] === fS[K_PATH])) {
    put(B_URL);
    putStrForm(fType[K_PATH], fS[K_PATH], fE[K_PATH], fFlags[K_PATH]);
    out[o++] = 0x7d;
  }

  // event.duration (written with the event group, last)
  let ns: number | undefined;
  const lt = fType[K_LATENCY];
  if (lt === T_STR) ns = goDurationNs(decode(fS[K_LATENCY], fE[K_LATENCY], fFlags[K_LATENCY]));
  else if (lt === T_NUM) ns = Math.round(numberOf(fS[K_LATENCY], fE[K_LATENCY]) * 1e9);
  else if (fType[K_LATENCY_MS] === T_NUM) ns = Math.round(numberOf(fS[K_LATENCY_MS], fE[K_LATENCY_MS]) * 1e6);
  else if (fType[K_DURATION_MS] === T_NUM) ns = Math.round(numberOf(fS[K_DURATION_MS], fE[K_DURATION_MS]) * 1e6);

  putObjStr(K_CLIENT_IP, B_CLIENT);
  putObjStr(K_USER_AGENT, B_UA);
  putObjStr(K_TRACE_ID, B_TRACE);
  putObjStr(K_SPAN_ID, B_SPAN);

  if (hasStrForm(K_USER) && !(fType[K_USER] === T_STR && fE[K_USER] === fS[K_USER])) {
    member(B_USER, B_NAME);
    putStrForm(fType[K_USER], fS[K_USER], fE[K_USER], fFlags[K_USER]);
  }
  if (hasStrForm(K_USER_ID) && !(fType[K_USER_ID] === T_STR && fE[K_USER_ID] === fS[K_USER_ID])) {
    member(B_USER, B_ID);
    putStrForm(fType[K_USER_ID], fS[K_USER_ID], fE[K_USER_ID], fFlags[K_USER_ID]);
  }
  closeGroup();

  // The kind decides the event members and whether `resource` leads the labels.
  const kf = fType[K_KIND] > T_NULL ? K_KIND : fType[K_LOG_TYPE] > T_NULL ? K_LOG_TYPE : fType[K_TYPE] > T_NULL ? K_TYPE : -1;
  const kind = kf >= 0 ? fStrForm(kf)?.toLowerCase() : undefined;
  const KIND_APP = 0;
  const KIND_AUDIT = 1;
  const KIND_BUSINESS = 2;
  const KIND_ACCESS = 3;
  let k = KIND_APP;
  if (kind === 'audit' || (kind === undefined && fType[K_ACTION] !== T_NONE && fType[K_RESOURCE] !== T_NONE)) k = KIND_AUDIT;
  else if (kind === 'business' || (kind === undefined && fType[K_EVENT_TYPE] !== T_NONE)) k = KIND_BUSINESS;
  else if (kind === 'access' || isAccess) k = KIND_ACCESS;

  // labels
  if (k === KIND_AUDIT && hasStrForm(K_RESOURCE) && !(fType[K_RESOURCE] === T_STR && fE[K_RESOURCE] === fS[K_RESOURCE])) {
    member(B_LABELS, B_RESOURCE);
    putStrForm(fType[K_RESOURCE], fS[K_RESOURCE], fE[K_RESOURCE], fFlags[K_RESOURCE]);
  }
  for (let j = 0, n = 0; j < nKeys && n < MAX_LABELS; j++) {
    const t = vType[j];
    if (t < T_FALSE) continue;
    member(B_LABELS, EMPTY);
    out[o++] = 0x22;
    copy(kS[j], kE[j]);
    out[o++] = 0x22;
    out[o++] = 0x3a;
    if (t === T_STR && vE[j] - vS[j] > MAX_LABEL_CHARS) putString(q(truncate(decode(vS[j], vE[j], vFlags[j]), MAX_LABEL_CHARS)));
    else putStrForm(t, vS[j], vE[j], vFlags[j]);
    n++;
  }
  closeGroup();

  // event
  put(B_EVENT);
  let comma = false;
  if (ns !== undefined && Number.isFinite(ns)) {
    put(B_DURATION);
    putNum(ns);
    comma = true;
  }
  if (k === KIND_AUDIT) {
    if (comma) out[o++] = 0x2c;
    put(B_AUDIT);
    if (hasStrForm(K_ACTION)) {
      put(B_ACTION);
      putStrForm(fType[K_ACTION], fS[K_ACTION], fE[K_ACTION], fFlags[K_ACTION]);
    }
    if (fType[K_SUCCESS] !== T_NONE) {
      const st = fType[K_SUCCESS];
      const ok = st === T_TRUE || (st === T_STR && decode(fS[K_SUCCESS], fE[K_SUCCESS], fFlags[K_SUCCESS]) === 'true');
      put(ok ? B_OUTCOME_SUCCESS : B_OUTCOME_FAILURE);
    }
    put(cb.audit);
  } else if (k === KIND_BUSINESS) {
    if (comma) out[o++] = 0x2c;
    put(B_BUSINESS);
    const af = fType[K_EVENT_TYPE] > T_NULL ? K_EVENT_TYPE : fType[K_ACTION] > T_NULL ? K_ACTION : -1;
    if (af >= 0 && hasStrForm(af)) {
      put(B_ACTION);
      putStrForm(fType[af], fS[af], fE[af], fFlags[af]);
    }
    const st = fStrForm(K_STATUS)?.toLowerCase();
    if (st) put(st === 'success' || st === 'ok' ? B_OUTCOME_SUCCESS : st === 'failure' || st === 'error' || st === 'failed' ? B_OUTCOME_FAILURE : B_OUTCOME_UNKNOWN);
    put(cb.business);
  } else if (k === KIND_ACCESS) {
    if (comma) out[o++] = 0x2c;
    put(B_ACCESS);
    if (Number.isInteger(status)) put(status >= 400 ? B_OUTCOME_FAILURE : B_OUTCOME_SUCCESS);
    put(cb.access);
  } else {
    if (comma) out[o++] = 0x2c;
    put(cb.app);
  }
  put(B_ORIGINAL);
  src = undefined as unknown as Buffer;
  out = undefined as unknown as Buffer;
  return o;
}

const EMPTY = new Uint8Array(0);

/** `,"client":{"ip":"..."}` and the like: written when the field is a string. */
function putObjStr(f: number, head: Uint8Array): void {
  if (fType[f] !== T_STR) return;
  put(head);
  putStr(fS[f], fE[f], fFlags[f]);
  out[o++] = 0x7d;
}

/** Number(rec.status), as ecs.ts computes it. */
function statusNumber(): number {
  const t = fType[K_STATUS];
  if (t === T_NONE) return NaN;
  if (t === T_NULL || t === T_FALSE) return 0;
  if (t === T_TRUE) return 1;
  const s = fS[K_STATUS];
  const e = fE[K_STATUS];
  if (t === T_NUM) {
    if (canonicalInt(s, e) && src[s] !== 0x2d) {
      let n = 0;
      for (let j = s; j < e; j++) n = n * 10 + src[j] - 0x30;
      return n;
    }
    return numberOf(s, e);
  }
  return Number(decode(s, e, fFlags[K_STATUS]));
}

/** `YYYY-MM-DDTHH:MM:SS.mmmZ`, which toIso keeps as it is. */
function isoUtc(s: number, e: number): boolean {
  if (e - s !== 24) return false;
  for (let j = 0; j < 24; j++) {
    const b = src[s + j];
    const want = ISO_SHAPE[j];
    if (want === 0 ? !isDigit(b) : b !== want) return false;
  }
  return true;
}
/** 0 where a digit goes. */
const ISO_SHAPE = Uint8Array.from('0000-00-00T00:00:00.000Z', (c) => (c === '0' ? 0 : c.charCodeAt(0)));

/** ecs.ts originJson for a caller string value. */
function putOrigin(s: number, e: number, flags: number): void {
  if (flags & F_ESC) {
    putString(originJson(decode(s, e, flags)));
    return;
  }
  let colon = e - 1;
  while (colon >= s && src[colon] !== 0x3a) colon--;
  let digits = colon >= s && colon + 1 < e;
  for (let j = colon + 1; digits && j < e; j++) if (!isDigit(src[j])) digits = false;
  put(B_FILE_NAME);
  if (!digits) {
    putStr(s, e, 0);
    put(B_CLOSE2);
    return;
  }
  putStr(s, colon, 0);
  put(B_LINE);
  if (e - colon - 1 <= 15 && (src[colon + 1] !== 0x30 || e - colon - 1 === 1)) copy(colon + 1, e);
  else putString(num(Number(src.toString('latin1', colon + 1, e))));
  put(B_CLOSE2);
}
