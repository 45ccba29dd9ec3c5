/**
 * The external query backend: the same QueryEngine interface as the embedded
 * PromQL engine, answered by any Prometheus-compatible HTTP query API
 * (Prometheus, VictoriaMetrics, Mimir, Thanos). Rules, the query API, the
 * digest and dashboards use it without knowing which one answers.
 *
 * Requests go over the shared keep-alive client (src/util/keep-alive-http.ts),
 * which takes tls_config's CA, client certificate and server name for its
 * https agent, and costs less CPU per query than fetch.
 */
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { authHeaders } from '../collectors/http-client.js';
import type { QueryBackendConfig } from '../config/remote.js';
import { PromQLError, type PromQLErrorType, type QueryEngine, type QueryOptions, type QueryResult, type QueryValue } from '../promql/types.js';
import type { Labels } from '../tsdb/types.js';
import { KeepAliveClient, requestErrorText, type HttpResponse } from '../util/keep-alive-http.js';
import { tlsOptions } from '../util/tls-options.js';
import { createLocalEvalEngine } from './local-eval.js';

/** The backend could not answer (unreachable, timeout, 5xx, unreadable answer): not a fault of the query. */
export class BackendError extends PromQLError {
  constructor(message: string) {
    super('internal', message);
    this.name = 'BackendError';
  }
}

export interface BackendEngineOptions {
  config: QueryBackendConfig;
  registry?: Registry;
  /** Largest answer accepted, in bytes (after decompression). Default 256 MiB. */
  maxResponseBytes?: number;
}

export interface BackendEngine extends QueryEngine {
  readonly url: string;
  /** 1 while the last request reached the backend, 0 after a failure. */
  up(): boolean;
  /** Closes the kept-alive connections (and any request still on them): at shutdown, or when the engine is replaced. */
  close(): void;
}

const API_ERRORS = new Set(['bad_data', 'execution', 'timeout', 'canceled', 'internal', 'too_many_samples']);

class BackendMetrics {
  readonly requests: Counter<'endpoint'>;
  readonly failures: Counter<'endpoint' | 'reason'>;
  readonly up: Gauge;
  readonly duration: Histogram<'endpoint'>;
  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({ name: 'vigil_query_backend_requests_total', help: 'Queries sent to the external query backend.', labelNames: ['endpoint'], registers });
    this.failures = new Counter({
      name: 'vigil_query_backend_failures_total',
      help: 'Queries the external query backend did not answer (reason: unreachable, timeout, http_5xx, http_4xx, bad_response).',
      labelNames: ['endpoint', 'reason'],
      registers,
    });
    this.up = new Gauge({ name: 'vigil_query_backend_up', help: '1 when the last query reached the external query backend, 0 when it failed.', registers });
    this.duration = new Histogram({
      name: 'vigil_query_backend_request_duration_seconds',
      help: 'Duration of queries to the external query backend.',
      labelNames: ['endpoint'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.up.set(1);
  }
}

export function createBackendEngine(o: BackendEngineOptions): BackendEngine {
  const base = o.config.url.replace(/\/+$/, '');
  const headers = { ...o.config.headers, ...authHeaders(o.config), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'accept-encoding': 'gzip', 'user-agent': 'Vigil' };
  const urls = { query: new URL(`${base}/api/v1/query`), query_range: new URL(`${base}/api/v1/query_range`) };
  const maxBytes = o.maxResponseBytes ?? 256 * 1024 * 1024;
  const metrics = o.registry ? new BackendMetrics(o.registry) : undefined;
  // Each call passes its own deadline as a signal; the client's timeout is only the configured ceiling.
  const http = new KeepAliveClient({ timeoutMs: o.config.timeout, tls: tlsOptions(o.config.tls_config, { where: 'query_backend.tls_config' }) });
  let isUp = true;
  const fail = (endpoint: string, reason: string, message: string): never => {
    isUp = false;
    metrics?.up.set(0);
    metrics?.failures.inc({ endpoint, reason });
    throw new BackendError(`query backend ${base}: ${message}`);
  };

  async function call(endpoint: 'query' | 'query_range', params: Record<string, string>, opts?: QueryOptions): Promise<QueryResult> {
    metrics?.requests.inc({ endpoint });
    const end = metrics?.duration.startTimer({ endpoint });
    const timeoutMs = Math.min(opts?.timeoutMs ?? o.config.timeout, o.config.timeout);
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = opts?.signal ? AbortSignal.any([deadline, opts.signal]) : deadline;
    const form = Buffer.from(new URLSearchParams({ ...params, timeout: `${Math.max(1, Math.floor(timeoutMs / 1000))}s` }).toString());
    let res: HttpResponse;
    try {
      // One byte past the limit tells an answer that is too large from one that fits exactly.
      res = await http.request(urls[endpoint], { method: 'POST', headers, body: form, signal, keep: () => maxBytes + 1 });
    } catch (err) {
      end?.();
      if (opts?.signal?.aborted) throw new PromQLError('canceled', 'query canceled');
      const e = err as Error;
      return e.name === 'TimeoutError' ? fail(endpoint, 'timeout', `no answer within ${timeoutMs} ms`) : fail(endpoint, 'unreachable', requestErrorText(e));
    }
    let text: string;
    try {
      text = await decodeBody(res, maxBytes);
    } catch (err) {
      end?.();
      if (opts?.signal?.aborted) throw new PromQLError('canceled', 'query canceled');
      if (deadline.aborted) return fail(endpoint, 'timeout', `answer not complete within ${timeoutMs} ms`);
      return fail(endpoint, 'bad_response', (err as Error).message);
    }
    end?.();
    // Not followed (fetch did): a POST query redirected elsewhere is a configuration to fix, said plainly.
    if (res.status >= 300 && res.status < 400) return fail(endpoint, 'bad_response', `HTTP ${res.status} redirect to ${String(res.headers.location ?? '?')}: set query_backend.url to the address that answers`);
    let body: ApiBody;
    try {
      body = JSON.parse(text) as ApiBody;
    } catch {
      if (res.status >= 500) return fail(endpoint, 'http_5xx', `HTTP ${res.status}`);
      return fail(endpoint, 'bad_response', `HTTP ${res.status}, answer is not JSON`);
    }
    if (body.status === 'error' && res.status >= 400 && res.status < 500 && res.status !== 429) {
      // The backend answered: the query itself is at fault (bad_data, execution, …).
      isUp = true;
      metrics?.up.set(1);
      const type = API_ERRORS.has(body.errorType ?? '') ? (body.errorType as PromQLErrorType) : 'bad_data';
      throw new PromQLError(type, body.error ?? `HTTP ${res.status}`);
    }
    if (res.status >= 500 || res.status === 429) return fail(endpoint, 'http_5xx', `HTTP ${res.status}: ${body.error ?? ''}`);
    if (body.status !== 'success' || !body.data) return fail(endpoint, 'bad_response', `HTTP ${res.status}: ${body.error ?? 'no data'}`);
    let value: QueryValue;
    try {
      value = toQueryValue(body.data);
    } catch (err) {
      return fail(endpoint, 'bad_response', (err as Error).message);
    }
    isUp = true;
    metrics?.up.set(1);
    return { value, warnings: body.warnings ?? [], infos: body.infos ?? [] };
  }

  if (o.config.evaluation === 'local') {
    const local = createLocalEvalEngine(async (selector, at, windowMs, opts) => (await call('query', { query: `${selector}[${windowMs}ms]`, time: formatTime(at) }, opts)).value);
    return { url: base, up: () => isUp, close: () => http.close(), instantQuery: local.instantQuery, rangeQuery: local.rangeQuery };
  }
  return {
    url: base,
    up: () => isUp,
    close: () => http.close(),
    instantQuery(expr, t, opts) {
      return call('query', { query: expr, time: formatTime(t) }, opts);
    },
    rangeQuery(expr, start, end, stepMs, opts) {
      return call('query_range', { query: expr, start: formatTime(start), end: formatTime(end), step: `${stepMs / 1000}` }, opts);
    },
  };
}

interface ApiBody {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
  warnings?: string[];
  infos?: string[];
}

function formatTime(ms: number): string {
  return (ms / 1000).toFixed(3);
}

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** The answer as text: whole, within the limit also once decompressed. */
async function decodeBody(res: HttpResponse, max: number): Promise<string> {
  const declared = Number(res.headers['content-length'] ?? 0);
  if (declared > max) throw new Error(`answer of ${declared} bytes is larger than the ${max}-byte limit`);
  if (res.body.length > max) throw new Error(`answer larger than the ${max}-byte limit`);
  if (!res.complete) throw new Error('connection closed before the answer was complete');
  const enc = String(res.headers['content-encoding'] ?? '').toLowerCase();
  if (enc !== 'gzip' && enc !== 'deflate') return res.body.toString('utf8');
  let plain: Buffer;
  try {
    plain = await (enc === 'gzip' ? gunzipAsync : inflateAsync)(res.body, { maxOutputLength: max });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new Error(`answer larger than the ${max}-byte limit`);
    throw new Error(`answer cannot be decompressed (${enc}): ${(err as Error).message}`);
  }
  return plain.toString('utf8');
}

/** Prometheus's sample value strings: numbers, NaN, +Inf, -Inf. */
function parseValue(v: unknown): number {
  if (typeof v !== 'string') throw new Error('sample value is not a string');
  if (v === '+Inf' || v === 'Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  if (v === 'NaN') return NaN;
  const n = Number(v);
  if (v.trim() === '' || Number.isNaN(n)) throw new Error(`unparsable sample value ${JSON.stringify(v.slice(0, 40))}`);
  return n;
}

function parsePoint(p: unknown): [number, number] {
  if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'number') throw new Error('sample is not [time, "value"]');
  return [Math.round(p[0] * 1000), parseValue(p[1])];
}

function parseLabels(m: unknown): Labels {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new Error('series labels are not an object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new Error(`label ${JSON.stringify(k)} is not a string`);
    out[k] = v;
  }
  return out;
}

export function toQueryValue(data: { resultType?: string; result?: unknown }): QueryValue {
  const r = data.result;
  switch (data.resultType) {
    case 'vector': {
      if (!Array.isArray(r)) throw new Error('vector result is not a list');
      return {
        resultType: 'vector',
        result: r.map((s: { metric?: unknown; value?: unknown }) => {
          const [t, v] = parsePoint(s.value);
          return { labels: parseLabels(s.metric ?? {}), t, v };
        }),
      };
    }
    case 'matrix': {
      if (!Array.isArray(r)) throw new Error('matrix result is not a list');
      return {
        resultType: 'matrix',
        result: r.map((s: { metric?: unknown; values?: unknown }) => {
          if (!Array.isArray(s.values)) throw new Error('matrix series has no values list');
          const t: number[] = [];
          const v: number[] = [];
          for (const p of s.values) {
            const [pt, pv] = parsePoint(p);
            t.push(pt);
            v.push(pv);
          }
          return { labels: parseLabels(s.metric ?? {}), t, v };
        }),
      };
    }
    case 'scalar': {
      const [t, v] = parsePoint(r);
      return { resultType: 'scalar', t, v };
    }
    case 'string': {
      if (!Array.isArray(r) || r.length !== 2 || typeof r[0] !== 'number' || typeof r[1] !== 'string') throw new Error('string result is not [time, "text"]');
      return { resultType: 'string', t: Math.round(r[0] * 1000), v: r[1] };
    }
    default:
      throw new Error(`unknown result type ${JSON.stringify(String(data.resultType).slice(0, 40))}`);
  }
}
