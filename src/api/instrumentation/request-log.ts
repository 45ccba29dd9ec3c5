import { jsonString, plainAscii } from '../../util/json-string.js';
import { BatchedLineWriter, type LineSink } from './line-writer.js';

/** What the plugin logs through: a pino logger fits, and so does createApiLogger's writer. */
export interface ApiLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** One request, as the plugin hands it to the request log. */
export interface RequestRecord {
  method: string;
  /** The URL without its query string. */
  path: string;
  status: number;
  /** Seconds; the request log writes them to the microsecond. */
  latency: number;
  clientIp: string;
  userAgent: string;
  traceparent: string | string[] | undefined;
  error?: Error;
}

/** A logger that writes request records itself, skipping the intermediate field object. */
export interface RequestLogger extends ApiLogger {
  request(r: RequestRecord): void;
}

function jsonValue(v: unknown): string {
  if (typeof v === 'string') return jsonString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  return JSON.stringify(v) ?? 'null';
}

/**
 * What a request line holds that depends only on its method and status (level,
 * message, method, status), serialised once; `head` is the line up to the
 * path's value as of millisecond `ms`, so requests in the same millisecond
 * share it whole.
 */
interface LineShape {
  level: string;
  /** From the end of the timestamp to the path's value. */
  afterTime: string;
  /** From the end of the path's value to the latency's. */
  mid: string;
  ms: number;
  head: string;
  /**
   * For lines encoded straight into the writer's batch: the Latin-1 bytes of
   * the line up to the path's value (its opening quote included), with the
   * timestamp's bytes rewritten in place when the millisecond changes.
   */
  headBytes: Uint8Array | undefined;
  /** Where in `headBytes` the timestamp starts. */
  beforeTime: number;
  /** The millisecond `headBytes` holds the time of. */
  bytesMs: number;
  /** From the path's closing quote to the latency's value. */
  midBytes: Uint8Array;
}

// eslint-disable-next-line no-control-regex -- ASCII is what is tested for
const ASCII_ONLY = /^[\u0000-\u007f]*$/;
/** Length of an ISO 8601 timestamp of years 0000 to 9999. */
const ISO_LENGTH = 24;
const CLIENT_IP = Buffer.from(',"client_ip":"', 'latin1');
const USER_AGENT = Buffer.from('","user_agent":"', 'latin1');
const TRACE_ID = Buffer.from('","trace_id":"', 'latin1');
const SPAN_ID = Buffer.from('","span_id":"', 'latin1');
const END = Buffer.from('"}\n', 'latin1');
const TRACE_LENGTH = 32 + 16;
/** Bytes of a line besides its head and its values. */
const FIXED_LENGTH = CLIENT_IP.length + USER_AGENT.length + TRACE_ID.length + SPAN_ID.length + END.length + TRACE_LENGTH;

/**
 * Copies `s` into `buf` from `at` as one byte per character if it is plain
 * ASCII needing no JSON escape (the test plainAscii makes, fused with the
 * copy); the offset past it, or -1 if it is not.
 */
function putPlain(buf: Uint8Array, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return -1;
    buf[at + i] = c;
  }
  return at + s.length;
}

/** Copies a short constant into `buf` from `at`: a loop costs less than a call to `set` at this size. */
function putBytes(buf: Uint8Array, at: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) buf[at + i] = bytes[i];
  return at + bytes.length;
}

/** "000" to "999": the milliseconds of a timestamp. */
const DIGITS3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** ISO 8601 time of a millisecond: the text up to the second is formatted once a second. */
function isoClock(): (ms: number) => string {
  let lastSecond = NaN;
  let prefix = '';
  return (ms) => {
    const second = Math.floor(ms / 1000);
    if (second !== lastSecond) {
      lastSecond = second;
      // Everything before the milliseconds' three digits and the "Z".
      prefix = new Date(second * 1000).toISOString().slice(0, -4);
    }
    return `${prefix}${DIGITS3[ms - second * 1000]}Z`;
  };
}

/**
 * Rewrites the timestamp bytes at `at` (those of millisecond `held`, or of none
 * if `held` is NaN) with millisecond `ms`'s. Within the same second only the
 * three digits of the milliseconds change, and they are written as digits:
 * formatting the whole text and copying it character by character cost
 * thousands of instructions, paid whenever the millisecond turns. False when
 * the time has no 24-character ISO form (years beyond 9999).
 */
function putTime(buf: Uint8Array, at: number, ms: number, held: number, iso: (ms: number) => string): boolean {
  const second = Math.floor(ms / 1000);
  if (second !== Math.floor(held / 1000)) {
    const time = iso(ms);
    return time.length === ISO_LENGTH && putPlain(buf, at, time) >= 0;
  }
  const milli = ms - second * 1000;
  buf[at + 20] = 0x30 + Math.floor(milli / 100);
  buf[at + 21] = 0x30 + (Math.floor(milli / 10) % 10);
  buf[at + 22] = 0x30 + (milli % 10);
  return true;
}

/**
 * Latency texts by whole microseconds below 2^16 (65 ms, nearly every
 * request), each made on first use: at most 64k short strings (about 1.5 MB).
 * Every latency is a fresh double, and V8's number-to-string conversion of one
 * (a cache probe, then often a shortest-digits conversion) was the largest
 * single cost of a request line; a table indexed by an integer costs a load.
 */
const LATENCY_TEXT = new Array<string | undefined>(1 << 16).fill(undefined);

/**
 * Seconds as the log writes them: rounded to the microsecond (the clock's
 * digits beyond are noise), which also makes the number's text a short
 * decimal, the text JavaScript gives the rounded number.
 */
export function logSeconds(seconds: number): string {
  const us = Math.round(seconds * 1e6);
  if (!(us >= 0 && us < LATENCY_TEXT.length)) return String(us / 1e6);
  let text = LATENCY_TEXT[us];
  if (text === undefined) LATENCY_TEXT[us] = text = String(us / 1e6);
  return text;
}

/**
 * JSON lines in the planning API's documented layout: `level`, `timestamp`
 * (ISO 8601), `logger`, `message`, then the request's fields (`stacktrace` for
 * errors). One line per request is on the API's hot path, so its constant
 * parts are serialised once per method and status, its variable parts are
 * appended to them in a fixed field order, and lines reach standard output in
 * one asynchronous write per batch. A line made only of plain ASCII values,
 * nearly every one, is encoded by this logger straight into the batched
 * writer's buffer; others are built as a string the writer encodes.
 */
export function createApiLogger(opts: { logger?: string; destination?: LineSink } = {}): RequestLogger {
  const out: LineSink = opts.destination ?? new BatchedLineWriter(1);
  const batched = out instanceof BatchedLineWriter ? out : undefined;
  const iso = isoClock();
  const loggerName = jsonString(opts.logger ?? 'http');
  const head = `","logger":${loggerName},"message":`;
  const line = (level: string, fields: Record<string, unknown>, message: string) => {
    let s = `{"level":"${level}","timestamp":"${iso(Date.now())}${head}${jsonString(message)}`;
    for (const key in fields) {
      const v = fields[key];
      if (v !== undefined) s += `,${jsonString(key)}:${jsonValue(v)}`;
    }
    out.write(`${s}}\n`);
  };

  /** Shapes by method, then by status: both come from small fixed sets. */
  const shapes = new Map<string, Map<number, LineShape>>();
  const shapeOf = (method: string, status: number): LineShape => {
    let byStatus = shapes.get(method);
    if (!byStatus) shapes.set(method, (byStatus = new Map()));
    let shape = byStatus.get(status);
    if (!shape) {
      const failed = status >= 500;
      const message = failed ? '"request failed"' : status >= 400 ? '"request rejected"' : '"request"';
      const level = failed ? 'error' : status >= 400 ? 'warn' : 'info';
      const afterTime = `${head}${message},"method":${jsonString(method)},"path":`;
      const beforeTime = `{"level":"${level}","timestamp":"`;
      const headText = `${beforeTime}${'0'.repeat(ISO_LENGTH)}${afterTime}"`;
      shape = {
        level,
        afterTime,
        mid: `,"status":${status},"latency":`,
        ms: -1,
        head: '',
        beforeTime: beforeTime.length,
        // Methods are HTTP tokens, but the logger's name and its method argument take any string.
        headBytes: ASCII_ONLY.test(headText) ? Buffer.from(headText, 'latin1') : undefined,
        bytesMs: NaN,
        midBytes: Buffer.from(`","status":${status},"latency":`, 'latin1'),
      };
      byStatus.set(status, shape);
    }
    return shape;
  };

  // Whether every value of the line being built was plain ASCII.
  let ascii = true;
  const str = (s: string): string => {
    if (plainAscii(s)) return `"${s}"`;
    ascii = false;
    return jsonString(s);
  };

  /**
   * Encodes a request line straight into the writer's batch: the shape's head
   * bytes, then each value copied as it is checked. No string is built or
   * flattened and the encoder is not called; what is not plain ASCII, or has
   * an error, takes the string path (false).
   */
  const encode = (w: BatchedLineWriter, shape: LineShape, r: RequestRecord, ms: number): boolean => {
    const headBytes = shape.headBytes;
    if (headBytes === undefined || r.error) return false;
    if (shape.bytesMs !== ms) {
      if (!putTime(headBytes, shape.beforeTime, ms, shape.bytesMs, iso)) return false;
      shape.bytesMs = ms;
    }
    const latency = logSeconds(r.latency);
    const trace = r.traceparent === undefined ? undefined : parseTraceparent(r.traceparent);
    const path = r.path;
    const ip = r.clientIp;
    const agent = r.userAgent;
    if (!w.reserve(headBytes.length + path.length + shape.midBytes.length + latency.length + ip.length + agent.length + FIXED_LENGTH)) return true;
    const buf = w.batch;
    buf.set(headBytes, w.end);
    let at = putPlain(buf, w.end + headBytes.length, path);
    if (at < 0) return false;
    at = putBytes(buf, at, shape.midBytes);
    at = putPlain(buf, at, latency);
    at = putBytes(buf, at, CLIENT_IP);
    at = putPlain(buf, at, ip);
    if (at < 0) return false;
    at = putBytes(buf, at, USER_AGENT);
    at = putPlain(buf, at, agent);
    if (at < 0) return false;
    if (trace) {
      // Hex digits only.
      at = putBytes(buf, at, TRACE_ID);
      at = putPlain(buf, at, trace.trace_id);
      at = putBytes(buf, at, SPAN_ID);
      at = putPlain(buf, at, trace.span_id);
    }
    w.commit(putBytes(buf, at, END));
    return true;
  };

  return {
    info: (f, m) => line('info', f, m),
    warn: (f, m) => line('warn', f, m),
    error: (f, m) => line('error', f, m),
    request(r) {
      const shape = shapeOf(r.method, r.status);
      const ms = Date.now();
      if (batched && encode(batched, shape, r, ms)) return;
      if (ms !== shape.ms) {
        shape.ms = ms;
        shape.head = `{"level":"${shape.level}","timestamp":"${iso(ms)}${shape.afterTime}`;
      }
      ascii = true;
      let s = `${shape.head}${str(r.path)}${shape.mid}${logSeconds(r.latency)},"client_ip":${str(r.clientIp)},"user_agent":${str(r.userAgent)}`;
      if (r.traceparent !== undefined) {
        const t = parseTraceparent(r.traceparent);
        // Hex digits only: plain ASCII.
        if (t) s += `,"trace_id":"${t.trace_id}","span_id":"${t.span_id}"`;
      }
      if (r.error) {
        s += `,"error":${str(r.error.message)}`;
        if (r.status >= 500 && r.error.stack !== undefined) s += `,"stacktrace":${str(r.error.stack)}`;
      }
      if (ascii && batched) batched.writeAscii(`${s}}\n`);
      else out.write(`${s}}\n`);
    },
  };
}

/** The record as the field object an ApiLogger (pino, say) takes. */
export function requestFields(r: RequestRecord): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    method: r.method,
    path: r.path,
    status: r.status,
    latency: r.latency,
    client_ip: r.clientIp,
    user_agent: r.userAgent,
  };
  const trace = parseTraceparent(r.traceparent);
  if (trace) Object.assign(fields, trace);
  if (r.error) {
    fields.error = r.error.message;
    if (r.status >= 500) fields.stacktrace = r.error.stack;
  }
  return fields;
}

/** W3C trace context from a `traceparent` header, when present and well-formed. */
export function parseTraceparent(header: string | string[] | undefined): { trace_id: string; span_id: string } | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const m = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(value.trim());
  if (!m || /^0+$/.test(m[1]) || /^0+$/.test(m[2])) return undefined;
  return { trace_id: m[1], span_id: m[2] };
}
