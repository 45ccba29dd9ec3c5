/**
 * `vigil query EXPR`: evaluates PromQL against a running Vigil (or any
 * Prometheus-compatible API) and prints an aligned table, or the raw JSON.
 */
import { parseDuration } from '../model/duration.js';
import { ConfigError, loadConfig } from '../config/index.js';
import { flagString, parseArgs } from './args.js';

const USAGE = `usage: vigil query EXPR [--time T] [--start T --end T --step D] [--timeout D]
                   [--server URL | --config FILE] [--json]
  T: RFC 3339, unix seconds, "now" or "now-1h"; D: a duration (15s, 1m) or seconds.
  Instant query without --start; range query with --start (--end defaults to now).
  --server defaults to http://127.0.0.1:9470; --config reads server.listen from a vigil.yml.`;

class UsageError extends Error {}

export async function run(args: string[], io: Io = defaultIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.out(USAGE);
    return 0;
  }
  let req: Request;
  try {
    req = buildRequest(args, Date.now());
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      io.err(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  let res: Response;
  try {
    res = await fetch(req.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: req.form,
      signal: AbortSignal.timeout(req.clientTimeoutMs),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    io.err(`cannot reach ${req.server}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    return 1;
  }
  const text = await res.text();
  let body: ApiBody;
  try {
    body = JSON.parse(text) as ApiBody;
  } catch {
    io.err(`${req.server} answered HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
    return 1;
  }
  if (body.status !== 'success' || !body.data) {
    io.err(`error (${body.errorType ?? `HTTP ${res.status}`}): ${body.error ?? 'no error message'}`);
    return 1;
  }
  for (const w of body.warnings ?? []) io.err(`warning: ${w}`);
  for (const i of body.infos ?? []) io.err(`info: ${i}`);
  io.out(req.json ? JSON.stringify(body.data, null, 2) : formatData(body.data));
  return 0;
}

export interface Io {
  out(s: string): void;
  err(s: string): void;
}
const defaultIo: Io = { out: (s) => console.log(s), err: (s) => console.error(s) };

interface Request {
  server: string;
  url: string;
  form: string;
  json: boolean;
  clientTimeoutMs: number;
}

function buildRequest(args: string[], now: number): Request {
  const p = parseArgs(args, ['json']);
  if (p.positional.length !== 1) throw new UsageError(p.positional.length ? 'give the expression as one argument (quote it)' : 'missing EXPR');
  for (const f of Object.keys(p.flags)) {
    if (!['time', 'start', 'end', 'step', 'timeout', 'server', 'config', 'json'].includes(f)) throw new UsageError(`unknown flag --${f}`);
  }
  for (const f of ['time', 'start', 'end', 'step', 'timeout', 'server', 'config']) {
    if (p.flags[f] === true) throw new UsageError(`--${f} needs a value`);
  }
  const server = serverUrl(flagString(p, 'server'), flagString(p, 'config'));
  const form = new URLSearchParams({ query: p.positional[0] });
  const timeout = flagString(p, 'timeout');
  const timeoutMs = timeout ? durationArg('--timeout', timeout) : undefined;
  if (timeoutMs !== undefined) form.set('timeout', `${timeoutMs / 1000}`);
  const start = flagString(p, 'start');
  let path = '/api/v1/query';
  if (start !== undefined) {
    if (p.flags.time) throw new UsageError('--time is for instant queries; use --start/--end for a range');
    const s = timeArg('--start', start, now);
    const e = timeArg('--end', flagString(p, 'end', 'now')!, now);
    if (e < s) throw new UsageError('--end must not be before --start');
    const stepText = flagString(p, 'step');
    // Without --step, about 60 rows: readable in a terminal.
    const step = stepText ? durationArg('--step', stepText) : Math.max(1000, Math.ceil((e - s) / 60 / 1000) * 1000);
    if (step <= 0) throw new UsageError('--step must be positive');
    path = '/api/v1/query_range';
    form.set('start', `${s / 1000}`);
    form.set('end', `${e / 1000}`);
    form.set('step', `${step / 1000}`);
  } else {
    if (p.flags.end || p.flags.step) throw new UsageError('--end and --step need --start');
    form.set('time', `${timeArg('--time', flagString(p, 'time', 'now')!, now) / 1000}`);
  }
  return {
    server,
    url: new URL(path.slice(1), server.endsWith('/') ? server : `${server}/`).href,
    form: form.toString(),
    json: p.flags.json === true,
    clientTimeoutMs: (timeoutMs ?? 120_000) + 10_000,
  };
}

function serverUrl(server: string | undefined, config: string | undefined): string {
  if (server && config) throw new UsageError('give --server or --config, not both');
  if (config) {
    const listen = loadConfig(config).config.server.listen;
    const i = listen.lastIndexOf(':');
    let host = listen.slice(0, i);
    if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
    if (host === '[::]') host = '[::1]';
    return `http://${host}:${listen.slice(i + 1)}`;
  }
  const url = server ?? 'http://127.0.0.1:9470';
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
  } catch {
    throw new UsageError(`--server must be an http(s) URL, got ${JSON.stringify(url)}`);
  }
  return url;
}

/** RFC 3339, unix seconds, `now`, or `now-<duration>` / `now+<duration>`. */
export function timeArg(flag: string, s: string, now: number): number {
  const rel = /^now(?:([+-])(.+))?$/.exec(s);
  if (rel) {
    if (!rel[1]) return now;
    const d = durationArg(flag, rel[2]);
    return rel[1] === '-' ? now - d : now + d;
  }
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(s)) {
    const t = Date.parse(s);
    if (Number.isFinite(t)) return t;
  }
  throw new UsageError(`${flag}: cannot parse ${JSON.stringify(s)} as a time (RFC 3339, unix seconds, now, now-1h)`);
}

function durationArg(flag: string, s: string): number {
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  try {
    return parseDuration(s);
  } catch {
    throw new UsageError(`${flag}: cannot parse ${JSON.stringify(s)} as a duration (15s, 1m, 1h30m or seconds)`);
  }
}

interface ApiBody {
  status?: string;
  errorType?: string;
  error?: string;
  warnings?: string[];
  infos?: string[];
  data?: ApiData;
}

type Point = [number, string];
type ApiData =
  | { resultType: 'vector'; result: Array<{ metric: Record<string, string>; value: Point }> }
  | { resultType: 'matrix'; result: Array<{ metric: Record<string, string>; values: Point[] }> }
  | { resultType: 'scalar' | 'string'; result: Point };

/** `name{a="1", b="2"}` as PromQL prints a series. */
export function seriesName(metric: Record<string, string>): string {
  const { __name__: name = '', ...rest } = metric;
  const pairs = Object.keys(rest)
    .sort()
    .map((k) => `${k}=${JSON.stringify(rest[k])}`);
  return pairs.length || !name ? `${name}{${pairs.join(', ')}}` : name;
}

function isoTime(sec: number): string {
  return new Date(Math.round(sec * 1000)).toISOString().replace('.000Z', 'Z');
}

/** Renders a query result as an aligned plain-text table. */
export function formatData(data: ApiData): string {
  switch (data.resultType) {
    case 'scalar':
    case 'string':
      return table(['VALUE', 'TIME'], [[data.result[1], isoTime(data.result[0])]]);
    case 'vector':
      if (data.result.length === 0) return '(empty result)';
      return table(
        ['SERIES', 'VALUE'],
        data.result.map((s) => [seriesName(s.metric), s.value[1]]),
      );
    case 'matrix': {
      if (data.result.length === 0) return '(empty result)';
      const rows: string[][] = [];
      for (const s of data.result) {
        s.values.forEach(([t, v], i) => rows.push([i === 0 ? seriesName(s.metric) : '', isoTime(t), v]));
      }
      return table(['SERIES', 'TIME', 'VALUE'], rows);
    }
  }
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}
