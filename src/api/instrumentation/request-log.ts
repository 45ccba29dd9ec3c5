import { jsonString } from '../../util/json-string.js';
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
  /** Seconds. */
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

/** ISO 8601 time of now, formatted once per millisecond however many lines share it. */
function clock(): () => string {
  let lastMs = -1;
  let last = '';
  return () => {
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      last = new Date(ms).toISOString();
    }
    return last;
  };
}

/**
 * JSON lines in the planning API's documented layout: `level`, `timestamp`
 * (ISO 8601), `logger`, `message`, then the request's fields (`stacktrace` for
 * errors). One line per request is on the API's hot path, so a line is one
 * template string with a fixed field order, and lines reach standard output
 * in one asynchronous write per event-loop turn.
 */
export function createApiLogger(opts: { logger?: string; destination?: LineSink } = {}): RequestLogger {
  const out: LineSink = opts.destination ?? new BatchedLineWriter(1);
  const now = clock();
  const head = `","logger":${jsonString(opts.logger ?? 'http')},"message":`;
  const line = (level: string, fields: Record<string, unknown>, message: string) => {
    let s = `{"level":"${level}","timestamp":"${now()}${head}${jsonString(message)}`;
    for (const key in fields) {
      const v = fields[key];
      if (v !== undefined) s += `,${jsonString(key)}:${jsonValue(v)}`;
    }
    out.write(`${s}}\n`);
  };
  return {
    info: (f, m) => line('info', f, m),
    warn: (f, m) => line('warn', f, m),
    error: (f, m) => line('error', f, m),
    request(r) {
      const failed = r.status >= 500;
      const level = failed ? 'error' : r.status >= 400 ? 'warn' : 'info';
      const message = failed ? '"request failed"' : r.status >= 400 ? '"request rejected"' : '"request"';
      let s =
        `{"level":"${level}","timestamp":"${now()}${head}${message},"method":${jsonString(r.method)},"path":${jsonString(r.path)}` +
        `,"status":${r.status},"latency":${r.latency},"client_ip":${jsonString(r.clientIp)},"user_agent":${jsonString(r.userAgent)}`;
      if (r.traceparent !== undefined) {
        const t = parseTraceparent(r.traceparent);
        if (t) s += `,"trace_id":"${t.trace_id}","span_id":"${t.span_id}"`;
      }
      if (r.error) {
        s += `,"error":${jsonString(r.error.message)}`;
        if (failed && r.error.stack !== undefined) s += `,"stacktrace":${jsonString(r.error.stack)}`;
      }
      out.write(`${s}}\n`);
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
