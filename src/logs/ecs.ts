/**
 * Mapping of the planning API's JSON log lines (seed-notes §6: timestamp, level,
 * logger, caller, message, stacktrace; request fields method, path, status,
 * latency, client_ip, user_agent, error; trace_id/span_id; access, business and
 * audit kinds) and pino lines to the Elastic Common Schema.
 *
 * The raw line is kept in `event.original`; scalar fields with no ECS home go to
 * `labels` (strings, bounded) so they stay searchable without mapping explosions.
 */
import { jsonString } from '../util/json-string.js';

export const ECS_VERSION = '8.11.0';
/** Most labels a document carries, and the longest label value (UTF-16 units). */
export const MAX_LABELS = 32;
export const MAX_LABEL_CHARS = 1024;
const MAX_ORIGINAL = 32 * 1024;

type Doc = Record<string, unknown>;

export interface MapContext {
  /** service.name when the line has none. */
  service: string;
  /** log.file.path for tailed files. */
  file?: string;
  /** event.dataset prefix, e.g. `sical`. */
  dataset?: string;
}

export const PINO_LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** Keys consumed by the mapping; everything else becomes a label. */
export const MAPPED_KEYS: readonly string[] = [
  '@timestamp', 'timestamp', 'time', 'ts', 'level', 'severity', 'message', 'msg', 'logger', 'caller', 'stacktrace',
  'stack', 'error', 'err', 'service', 'service_name', 'method', 'path', 'status', 'latency', 'latency_ms', 'duration_ms',
  'client_ip', 'user_agent', 'trace_id', 'span_id', 'kind', 'log_type', 'type', 'event_type', 'action', 'resource',
  'user', 'user_id', 'success', 'pid', 'hostname', 'v', 'component',
];
const MAPPED = new Set(MAPPED_KEYS);

/** Go duration (`1.5ms`, `2m3s`, `350µs`) to nanoseconds. */
export function goDurationNs(s: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * unit[m[2]];
    pos = re.lastIndex;
  }
  return pos === s.length && pos > 0 ? Math.round(total) : undefined;
}

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

export function toIso(v: unknown): string | undefined {
  if (typeof v === 'string') {
    if (ISO_UTC.test(v)) return v; // already canonical: skip the Date round trip (hot path)
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
  }
  if (typeof v === 'number' && Number.isFinite(v)) {
    // Epoch seconds (zap's default) or milliseconds (pino's).
    const d = new Date(v < 1e11 ? v * 1000 : v);
    return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
  }
  return undefined;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

export function truncate(s: string, n = MAX_ORIGINAL): string {
  return s.length > n ? s.slice(0, n) : s;
}

function mapLevel(v: unknown): string | undefined {
  if (typeof v === 'number') return PINO_LEVELS[v] ?? String(v);
  return typeof v === 'string' ? v.toLowerCase() : undefined;
}

const q = jsonString;

/** A finite number as JSON (`null` otherwise, as JSON.stringify would write it). */
export function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/** `handlers/user.go:42` or `pkg/x.(*T).Fn:42` into ECS log.origin (JSON). */
export function originJson(caller: string): string {
  const colon = caller.lastIndexOf(':');
  const line = colon >= 0 ? caller.slice(colon + 1) : '';
  return line && /^\d+$/.test(line)
    ? `{"file":{"name":${q(caller.slice(0, colon))},"line":${num(Number(line))}}}`
    : `{"file":{"name":${q(caller)}}}`;
}

/** JSON fragments that depend only on the context: built once per context object (contexts are not mutated), not per line. */
export interface CtxJson {
  file: string;
  service: string;
  app: string;
  access: string;
  audit: string;
  business: string;
}
const ctxCache = new WeakMap<MapContext, CtxJson>();

export function ctxJson(ctx: MapContext): CtxJson {
  let c = ctxCache.get(ctx);
  if (!c) {
    const dataset = ctx.dataset ?? 'sical';
    c = {
      file: ctx.file ? `,"file":{"path":${q(ctx.file)}}` : '',
      service: q(ctx.service),
      app: `,"dataset":${q(`${dataset}.app`)}`,
      access: `,"dataset":${q(`${dataset}.access`)}`,
      audit: `,"dataset":${q(`${dataset}.audit`)}`,
      business: `,"dataset":${q(`${dataset}.business`)}`,
    };
    ctxCache.set(ctx, c);
  }
  return c;
}

/**
 * Turns a concatenated string (a tree of pieces in V8) into one flat string:
 * documents wait in the queue long enough to be promoted to the old
 * generation, and one object per document is far cheaper to keep and collect
 * than the dozens of pieces it was built from, and encodes into a bulk body
 * several times faster. ToNumber flattens its argument.
 */
export function flatten(s: string): string {
  // Stored, not discarded: optimised code would drop an unused conversion.
  _flattened = Number(s);
  return s;
}
let _flattened = 0;

/** `,"key":{...}` for a group of `,"k":v` members, or nothing when it is empty. */
function group(key: string, members: string): string {
  return members ? `,"${key}":{${members.slice(1)}}` : '';
}

/**
 * Maps one parsed JSON log record to an ECS document, written straight to JSON
 * text: the hot path of file intake builds no intermediate document object.
 * `raw` is the original line.
 */
export function toEcsJson(rec: Doc, raw: string, ctx: MapContext): string {
  return flatten(buildEcsJson(rec, raw, ctx));
}

/** toEcsJson's text as a tree of pieces: for callers that encode it at once (encoding flattens anyway). */
function buildEcsJson(rec: Doc, raw: string, ctx: MapContext): string {
  return `${buildEcsHead(rec, ctx)}${q(truncate(raw))}${ECS_TAIL}`;
}

/**
 * What follows `event.original`'s value in every mapped document: the
 * original line is the last member of `event`, so a writer that has the line
 * as bytes can put it between an ECS head and this tail without a string.
 */
export const ECS_TAIL = `},"ecs":{"version":"${ECS_VERSION}"}}`;

/** The longest `event.original` (UTF-16 units); longer lines are cut. */
export const MAX_ORIGINAL_CHARS = MAX_ORIGINAL;

/** A mapped document up to `"original":` (the line's JSON string and ECS_TAIL complete it). */
function buildEcsHead(rec: Doc, ctx: MapContext): string {
  const cj = ctxJson(ctx);
  let out = `{"@timestamp":${q(toIso(rec['@timestamp'] ?? rec.timestamp ?? rec.time ?? rec.ts) ?? new Date().toISOString())}`;

  let log = '';
  const level = mapLevel(rec.level ?? rec.severity);
  if (level) log += `,"level":${q(level)}`;
  if (typeof rec.logger === 'string') log += `,"logger":${q(rec.logger)}`;
  else if (typeof rec.component === 'string') log += `,"logger":${q(rec.component)}`;
  if (typeof rec.caller === 'string') log += `,"origin":${originJson(rec.caller)}`;
  log += cj.file;
  out += group('log', log);

  const message = str(rec.message ?? rec.msg);
  if (message !== undefined) out += `,"message":${q(message)}`;
  const service = str(rec.service_name) ?? (typeof rec.service === 'string' ? rec.service : undefined);
  out += `,"service":{"name":${service === undefined ? cj.service : q(service)}}`;

  // Errors: a string (request logs, panics), or pino's serialised err object.
  let errMessage: string | undefined;
  let errType: string | undefined;
  let errStack: string | undefined;
  const err = (rec.err ?? rec.error) as unknown;
  if (typeof err === 'string') errMessage = err;
  else if (err && typeof err === 'object') {
    const e = err as Doc;
    errMessage = str(e.message);
    errType = str(e.type) ?? str(e.name);
    if (typeof e.stack === 'string') errStack = e.stack;
  }
  const stack = rec.stacktrace ?? rec.stack;
  if (typeof stack === 'string') errStack = stack;
  let error = '';
  if (errMessage !== undefined) error += `,"message":${q(errMessage)}`;
  if (errType !== undefined) error += `,"type":${q(errType)}`;
  if (errStack !== undefined) error += `,"stack_trace":${q(errStack)}`;
  out += group('error', error);

  // Request (access) fields.
  const method = str(rec.method);
  const path = str(rec.path);
  const status = Number(rec.status);
  const isAccess = method !== undefined && path !== undefined;
  let http = '';
  if (method) http += `,"request":{"method":${q(method.toUpperCase())}}`;
  if (isAccess && Number.isInteger(status)) http += `,"response":{"status_code":${num(status)}}`;
  out += group('http', http);
  if (path) out += `,"url":{"path":${q(path)}}`;

  let event = '';
  const latency = rec.latency;
  let ns: number | undefined;
  if (typeof latency === 'string') ns = goDurationNs(latency);
  else if (typeof latency === 'number') ns = Math.round(latency * 1e9); // zap's default: seconds
  else if (typeof rec.latency_ms === 'number') ns = Math.round(rec.latency_ms * 1e6);
  else if (typeof rec.duration_ms === 'number') ns = Math.round(rec.duration_ms * 1e6);
  if (ns !== undefined && Number.isFinite(ns)) event += `,"duration":${num(ns)}`;
  if (typeof rec.client_ip === 'string') out += `,"client":{"ip":${q(rec.client_ip)}}`;
  if (typeof rec.user_agent === 'string') out += `,"user_agent":{"original":${q(rec.user_agent)}}`;
  if (typeof rec.trace_id === 'string') out += `,"trace":{"id":${q(rec.trace_id)}}`;
  if (typeof rec.span_id === 'string') out += `,"span":{"id":${q(rec.span_id)}}`;
  let user = '';
  const userName = str(rec.user);
  if (userName) user += `,"name":${q(userName)}`;
  const userId = str(rec.user_id);
  if (userId) user += `,"id":${q(userId)}`;
  out += group('user', user);

  // Labels: built as an object so sanitised keys that collide keep one value (last wins).
  let labels: Record<string, string> | undefined;
  // Kinds: explicit `kind`/`log_type`, else inferred from the fields present.
  const kind = str(rec.kind ?? rec.log_type ?? rec.type)?.toLowerCase();
  if (kind === 'audit' || (kind === undefined && rec.action !== undefined && rec.resource !== undefined)) {
    event += ',"kind":"event","category":["iam"],"type":["change"]';
    const action = str(rec.action);
    if (action !== undefined) event += `,"action":${q(action)}`;
    if (rec.success !== undefined) event += `,"outcome":"${rec.success === true || rec.success === 'true' ? 'success' : 'failure'}"`;
    const resource = str(rec.resource);
    if (resource) (labels = Object.create(null) as Record<string, string>).resource = resource;
    event += cj.audit;
  } else if (kind === 'business' || (kind === undefined && rec.event_type !== undefined)) {
    event += ',"kind":"event","category":["process"],"type":["info"]';
    const action = str(rec.event_type ?? rec.action);
    if (action !== undefined) event += `,"action":${q(action)}`;
    const st = str(rec.status)?.toLowerCase();
    if (st) event += `,"outcome":"${st === 'success' || st === 'ok' ? 'success' : st === 'failure' || st === 'error' || st === 'failed' ? 'failure' : 'unknown'}"`;
    event += cj.business;
  } else if (kind === 'access' || isAccess) {
    event += ',"kind":"event","category":["web"],"type":["access"]';
    if (Number.isInteger(status)) event += `,"outcome":"${status >= 400 ? 'failure' : 'success'}"`;
    event += cj.access;
  } else {
    event += cj.app;
  }

  let n = 0;
  for (const key in rec) {
    if (n >= MAX_LABELS) break;
    if (MAPPED.has(key) || !Object.prototype.hasOwnProperty.call(rec, key)) continue;
    const v = str(rec[key]);
    if (v === undefined) continue; // objects and arrays stay in event.original only
    labels ??= Object.create(null) as Record<string, string>;
    labels[key.replace(/[^a-zA-Z0-9_]/g, '_').slice(0, 64)] = truncate(v, MAX_LABEL_CHARS);
    n++;
  }
  if (labels) out += `,"labels":${JSON.stringify(labels)}`;
  return `${out},"event":{${event.slice(1)},"original":`;
}

/** Maps one parsed JSON log record to an ECS document object (see toEcsJson). */
export function toEcs(rec: Doc, raw: string, ctx: MapContext): Doc {
  return JSON.parse(toEcsJson(rec, raw, ctx)) as Doc;
}

/** A line that is not a JSON object: kept, with its raw text and a tag saying why (JSON text). */
export function unparsedToEcsJson(raw: string, reason: string, ctx: MapContext): string {
  const text = q(truncate(raw));
  const file = ctx.file ? `,"log":{"file":{"path":${q(ctx.file)}}}` : '';
  return (
    `{"@timestamp":"${new Date().toISOString()}","message":${text},"tags":["vigil_json_parse_failure"]${file}` +
    `,"service":{"name":${q(ctx.service)}},"error":{"message":${q(reason)}}` +
    `,"event":{"original":${text},"dataset":${q(`${ctx.dataset ?? 'sical'}.app`)}},"ecs":{"version":"${ECS_VERSION}"}}`
  );
}

/** A line that is not a JSON object, as a document object. */
export function unparsedToEcs(raw: string, reason: string, ctx: MapContext): Doc {
  return JSON.parse(unparsedToEcsJson(raw, reason, ctx)) as Doc;
}

/** Parses and maps one line to ECS JSON text; never throws. */
export function lineToEcsJson(line: string, ctx: MapContext): string {
  return flatten(mapLine(line, ctx));
}

/** Parses and maps one line to ECS JSON text, left in pieces for a caller that encodes it at once (encoding flattens anyway); never throws. */
export function lineToEcsPieces(line: string, ctx: MapContext): string {
  return mapLine(line, ctx);
}

/**
 * Parses one line and maps it to the head of its ECS document (see
 * ECS_TAIL), or undefined when the line is not a JSON object (lineToEcsJson
 * maps those).
 */
export function lineToEcsHead(line: string, ctx: MapContext): string | undefined {
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!rec || typeof rec !== 'object' || Array.isArray(rec)) return undefined;
  return buildEcsHead(rec as Doc, ctx);
}

function mapLine(line: string, ctx: MapContext): string {
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch (err) {
    return unparsedToEcsJson(line, `invalid JSON: ${(err as Error).message}`, ctx);
  }
  if (!rec || typeof rec !== 'object' || Array.isArray(rec)) return unparsedToEcsJson(line, 'not a JSON object', ctx);
  return buildEcsJson(rec as Doc, line, ctx);
}

/** Parses and maps one line to a document object; never throws. */
export function lineToEcs(line: string, ctx: MapContext): Doc {
  return JSON.parse(lineToEcsJson(line, ctx)) as Doc;
}
