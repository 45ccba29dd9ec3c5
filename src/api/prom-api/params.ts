import { parseDuration } from '../../model/duration.js';
import { badParam } from './errors.js';

/**
 * Request parameters as Prometheus reads them: form body values first, then
 * the URL query, repeated keys kept in order (`match[]`).
 */
export type RawParams = Record<string, string[]>;

function addAll(out: RawParams, src: unknown): void {
  if (!src || typeof src !== 'object') return;
  for (const [k, v] of Object.entries(src as Record<string, unknown>)) {
    const list = (out[k] ??= []);
    if (Array.isArray(v)) {
      for (const x of v) if (typeof x === 'string') list.push(x);
    } else if (typeof v === 'string') list.push(v);
  }
}

export function collectParams(body: unknown, query: unknown): RawParams {
  const out: RawParams = Object.create(null) as RawParams;
  addAll(out, body);
  addAll(out, query);
  return out;
}

export function first(p: RawParams, name: string): string | undefined {
  const v = p[name];
  return v && v.length ? v[0] : undefined;
}

/** Earliest and latest times the API accepts; also the defaults for open ranges. */
export const MIN_TIME = -8_640_000_000_000_000;
export const MAX_TIME = 8_640_000_000_000_000;

/** How Go clients (promtool, client_golang) write Prometheus's minimum and maximum time. */
const GO_MIN_TIME = '-292273086-05-16T16:47:06Z';
const GO_MAX_TIME = '292277026596-12-04T15:30:07.999999999Z';

function clamp(ms: number): number {
  return Math.min(MAX_TIME, Math.max(MIN_TIME, ms));
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const FLOAT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** `time`, `start`, `end`: Unix seconds (float) or RFC 3339. Returns Unix ms. */
export function parseTimeParam(p: RawParams, name: string, fallback: number): number {
  const s = first(p, name);
  if (s === undefined || s === '') return fallback;
  let ms: number | undefined;
  if (FLOAT.test(s)) {
    const sec = Number(s);
    // Prometheus rounds fractional seconds to the millisecond; clients send
    // Go's min/max time as huge numbers to mean "unbounded", hence the clamp.
    if (Number.isFinite(sec)) ms = clamp(Math.trunc(sec) * 1000 + Math.round((sec - Math.trunc(sec)) * 1000));
  } else if (s === GO_MIN_TIME) ms = MIN_TIME;
  else if (s === GO_MAX_TIME) ms = MAX_TIME;
  else if (RFC3339.test(s)) {
    ms = Date.parse(s.toUpperCase());
  }
  if (ms === undefined || !Number.isFinite(ms)) {
    throw badParam(name, `cannot parse ${JSON.stringify(s)} to a valid timestamp`);
  }
  return ms;
}

/** `step`, `timeout`: float seconds or a Prometheus duration. Returns ms, or undefined when absent. */
export function parseDurationParam(p: RawParams, name: string): number | undefined {
  const s = first(p, name);
  if (s === undefined || s === '') return undefined;
  let ms: number | undefined;
  if (FLOAT.test(s)) {
    const v = Number(s) * 1000;
    if (Number.isFinite(v) && Math.abs(v) < 9.2e15) ms = Math.round(v);
  } else {
    try {
      ms = parseDuration(s);
    } catch {
      ms = undefined;
    }
  }
  if (ms === undefined) throw badParam(name, `cannot parse ${JSON.stringify(s)} to a valid duration`);
  return ms;
}

/** `limit`: a positive integer, 0 or absent meaning no limit. */
export function parseLimitParam(p: RawParams, name = 'limit'): number {
  const s = first(p, name);
  if (s === undefined || s === '') return 0;
  if (!/^\d{1,15}$/.test(s)) throw badParam(name, `cannot parse ${JSON.stringify(s)} to a valid limit: must be a non-negative integer`);
  return Number(s);
}
