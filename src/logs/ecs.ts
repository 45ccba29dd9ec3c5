/**
 * Mapping of the planning API's JSON log lines (seed-notes §6: timestamp, level,
 * logger, caller, message, stacktrace; request fields method, path, status,
 * latency, client_ip, user_agent, error; trace_id/span_id; access, business and
 * audit kinds) and pino lines to the Elastic Common Schema.
 *
 * The raw line is kept in `event.original`; scalar fields with no ECS home go to
 * `labels` (strings, bounded) so they stay searchable without mapping explosions.
 */

export const ECS_VERSION = '8.11.0';
const MAX_LABELS = 32;
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

const PINO_LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** Keys consumed by the mapping; everything else becomes a label. */
const MAPPED = new Set([
  '@timestamp', 'timestamp', 'time', 'ts', 'level', 'severity', 'message', 'msg', 'logger', 'caller', 'stacktrace',
  'stack', 'error', 'err', 'service', 'service_name', 'method', 'path', 'status', 'latency', 'latency_ms', 'duration_ms',
  'client_ip', 'user_agent', 'trace_id', 'span_id', 'kind', 'log_type', 'type', 'event_type', 'action', 'resource',
  'user', 'user_id', 'success', 'pid', 'hostname', 'v', 'component',
]);

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

function toIso(v: unknown): string | undefined {
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

const pathCache = new Map<string, string[]>();

function set(doc: Doc, path: string, value: unknown): void {
  if (value === undefined) return;
  let keys = pathCache.get(path);
  if (!keys) {
    keys = path.split('.');
    if (pathCache.size < 10_000) pathCache.set(path, keys);
  }
  let o = doc;
  for (let i = 0; i < keys.length - 1; i++) {
    const k = keys[i];
    let next = o[k] as Doc | undefined;
    if (!next || typeof next !== 'object') o[k] = next = {};
    o = next;
  }
  o[keys[keys.length - 1]] = value;
}

function truncate(s: string, n = MAX_ORIGINAL): string {
  return s.length > n ? s.slice(0, n) : s;
}

/** `handlers/user.go:42` or `pkg/x.(*T).Fn:42` into ECS log.origin. */
function origin(caller: string): Doc {
  const m = /^(.*):(\d+)$/.exec(caller);
  return m ? { file: { name: m[1], line: Number(m[2]) } } : { file: { name: caller } };
}

function mapLevel(v: unknown): string | undefined {
  if (typeof v === 'number') return PINO_LEVELS[v] ?? String(v);
  return typeof v === 'string' ? v.toLowerCase() : undefined;
}

/** Maps one parsed JSON log record to an ECS document. `raw` is the original line. */
export function toEcs(rec: Doc, raw: string, ctx: MapContext): Doc {
  const doc: Doc = {};
  doc['@timestamp'] = toIso(rec['@timestamp'] ?? rec.timestamp ?? rec.time ?? rec.ts) ?? new Date().toISOString();
  const level = mapLevel(rec.level ?? rec.severity);
  if (level) set(doc, 'log.level', level);
  const message = str(rec.message ?? rec.msg);
  if (message !== undefined) doc.message = message;
  if (typeof rec.logger === 'string') set(doc, 'log.logger', rec.logger);
  else if (typeof rec.component === 'string') set(doc, 'log.logger', rec.component);
  if (typeof rec.caller === 'string') set(doc, 'log.origin', origin(rec.caller));
  if (ctx.file) set(doc, 'log.file.path', ctx.file);
  set(doc, 'service.name', str(rec.service_name) ?? (typeof rec.service === 'string' ? rec.service : undefined) ?? ctx.service);

  // Errors: a string (request logs, panics), or pino's serialised err object.
  const err = (rec.err ?? rec.error) as unknown;
  if (typeof err === 'string') set(doc, 'error.message', err);
  else if (err && typeof err === 'object') {
    const e = err as Doc;
    set(doc, 'error.message', str(e.message));
    set(doc, 'error.type', str(e.type) ?? str(e.name));
    set(doc, 'error.stack_trace', typeof e.stack === 'string' ? e.stack : undefined);
  }
  const stack = rec.stacktrace ?? rec.stack;
  if (typeof stack === 'string') set(doc, 'error.stack_trace', stack);

  // Request (access) fields.
  const method = str(rec.method);
  const path = str(rec.path);
  const status = Number(rec.status);
  const isAccess = method !== undefined && path !== undefined;
  if (method) set(doc, 'http.request.method', method.toUpperCase());
  if (path) set(doc, 'url.path', path);
  if (isAccess && Number.isInteger(status)) set(doc, 'http.response.status_code', status);
  const latency = rec.latency;
  let ns: number | undefined;
  if (typeof latency === 'string') ns = goDurationNs(latency);
  else if (typeof latency === 'number') ns = Math.round(latency * 1e9); // zap's default: seconds
  else if (typeof rec.latency_ms === 'number') ns = Math.round(rec.latency_ms * 1e6);
  else if (typeof rec.duration_ms === 'number') ns = Math.round(rec.duration_ms * 1e6);
  if (ns !== undefined && Number.isFinite(ns)) set(doc, 'event.duration', ns);
  if (typeof rec.client_ip === 'string') set(doc, 'client.ip', rec.client_ip);
  if (typeof rec.user_agent === 'string') set(doc, 'user_agent.original', rec.user_agent);
  if (typeof rec.trace_id === 'string') set(doc, 'trace.id', rec.trace_id);
  if (typeof rec.span_id === 'string') set(doc, 'span.id', rec.span_id);
  const user = str(rec.user);
  if (user) set(doc, 'user.name', user);
  if (str(rec.user_id)) set(doc, 'user.id', str(rec.user_id));

  // Kinds: explicit `kind`/`log_type`, else inferred from the fields present.
  const kind = str(rec.kind ?? rec.log_type ?? rec.type)?.toLowerCase();
  const dataset = ctx.dataset ?? 'sical';
  if (kind === 'audit' || (kind === undefined && rec.action !== undefined && rec.resource !== undefined)) {
    set(doc, 'event.kind', 'event');
    set(doc, 'event.category', ['iam']);
    set(doc, 'event.type', ['change']);
    set(doc, 'event.action', str(rec.action));
    if (rec.success !== undefined) set(doc, 'event.outcome', rec.success === true || rec.success === 'true' ? 'success' : 'failure');
    if (str(rec.resource)) set(doc, 'labels.resource', str(rec.resource));
    set(doc, 'event.dataset', `${dataset}.audit`);
  } else if (kind === 'business' || (kind === undefined && rec.event_type !== undefined)) {
    set(doc, 'event.kind', 'event');
    set(doc, 'event.category', ['process']);
    set(doc, 'event.type', ['info']);
    set(doc, 'event.action', str(rec.event_type ?? rec.action));
    const st = str(rec.status)?.toLowerCase();
    if (st) set(doc, 'event.outcome', st === 'success' || st === 'ok' ? 'success' : st === 'failure' || st === 'error' || st === 'failed' ? 'failure' : 'unknown');
    set(doc, 'event.dataset', `${dataset}.business`);
  } else if (kind === 'access' || isAccess) {
    set(doc, 'event.kind', 'event');
    set(doc, 'event.category', ['web']);
    set(doc, 'event.type', ['access']);
    if (Number.isInteger(status)) set(doc, 'event.outcome', status >= 400 ? 'failure' : 'success');
    set(doc, 'event.dataset', `${dataset}.access`);
  } else {
    set(doc, 'event.dataset', `${dataset}.app`);
  }

  let labels = 0;
  for (const key of Object.keys(rec)) {
    if (MAPPED.has(key) || labels >= MAX_LABELS) continue;
    const v = str(rec[key]);
    if (v === undefined) continue; // objects and arrays stay in event.original only
    const safe = key.replace(/[^a-zA-Z0-9_]/g, '_').slice(0, 64);
    set(doc, `labels.${safe}`, truncate(v, 1024));
    labels++;
  }
  set(doc, 'event.original', truncate(raw));
  set(doc, 'ecs.version', ECS_VERSION);
  return doc;
}

/** A line that is not a JSON object: kept, with its raw text and a tag saying why. */
export function unparsedToEcs(raw: string, reason: string, ctx: MapContext): Doc {
  const doc: Doc = { '@timestamp': new Date().toISOString(), message: truncate(raw), tags: ['vigil_json_parse_failure'] };
  if (ctx.file) set(doc, 'log.file.path', ctx.file);
  set(doc, 'service.name', ctx.service);
  set(doc, 'error.message', reason);
  set(doc, 'event.original', truncate(raw));
  set(doc, 'event.dataset', `${ctx.dataset ?? 'sical'}.app`);
  set(doc, 'ecs.version', ECS_VERSION);
  return doc;
}

/** Parses and maps one line; never throws. */
export function lineToEcs(line: string, ctx: MapContext): Doc {
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch (err) {
    return unparsedToEcs(line, `invalid JSON: ${(err as Error).message}`, ctx);
  }
  if (!rec || typeof rec !== 'object' || Array.isArray(rec)) return unparsedToEcs(line, 'not a JSON object', ctx);
  return toEcs(rec as Doc, line, ctx);
}
