import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { QueryEngine, QueryOptions, QueryResult } from '../../promql/types.js';
import { labelsKey } from '../../model/labels.js';
import { slicedRangeQuery } from '../../promql/sliced.js';
import type { Labels, Matcher, Storage } from '../../tsdb/types.js';
import { ApiError, badParam, errorJson, toApiError } from './errors.js';
import { queryDataJson, successJson } from './format.js';
import { guardQuery } from './guard.js';
import { DEFAULT_PROM_API_LIMITS, type PromApiLimits } from './limits.js';
import { MAX_TIME, MIN_TIME, collectParams, first, parseDurationParam, parseLimitParam, parseTimeParam, type RawParams } from './params.js';
import { parseSeriesSelector } from './selector.js';
import { Slots } from './slots.js';

export { DEFAULT_PROM_API_LIMITS, type PromApiLimits } from './limits.js';
export { formatFloat } from '../../model/strconv.js';

export interface BuildInfo {
  version: string;
  revision: string;
  branch: string;
  buildUser: string;
  buildDate: string;
  goVersion: string;
}

export interface MetricMetadata {
  type: string;
  help: string;
  unit: string;
}

export interface PromApiOptions {
  engine: QueryEngine;
  storage: Pick<Storage, 'querier'>;
  /** Accepted for symmetry with the other route plugins: every endpoint here only reads, so none asks for it. */
  token?: string;
  limits?: Partial<PromApiLimits>;
  buildInfo?: Partial<BuildInfo>;
  /** Feeds /api/v1/metadata (metric name -> entries); empty without it. */
  metadata?: () => Record<string, MetricMetadata[]>;
  /** Feeds /api/v1/status/flags. */
  flags?: () => Record<string, string>;
  /** Retention shown by /api/v1/status/runtimeinfo, e.g. "15d". */
  storageRetention?: string;
  /** Current time in ms (tests pin it). */
  now?: () => number;
}

/**
 * Clients gate features on the Prometheus version they think they talk to
 * (Grafana's data source, promtool); this API follows Prometheus 3's, so it
 * says so, and names itself in `branch`.
 */
const DEFAULT_BUILD_INFO: BuildInfo = {
  version: '3.0.0',
  revision: 'vigil',
  branch: 'vigil',
  buildUser: 'vigil',
  buildDate: '',
  goVersion: `node${process.versions.node}`,
};

type Handler = (params: RawParams, req: FastifyRequest, reply: FastifyReply) => Promise<string>;

/**
 * The read side of Prometheus's HTTP API (/api/v1/query, query_range, series,
 * labels, label values, metadata, status), GET and form-encoded POST, with its
 * JSON shapes, error types and status codes.
 */
export function promApiRoutes(opts: PromApiOptions): FastifyPluginAsync {
  const limits: PromApiLimits = { ...DEFAULT_PROM_API_LIMITS, ...opts.limits };
  const buildInfo: BuildInfo = { ...DEFAULT_BUILD_INFO, ...opts.buildInfo };
  const now = opts.now ?? Date.now;
  const startTime = new Date(now()).toISOString();
  const slots = new Slots(limits.maxConcurrent, limits.maxQueued);

  return async (app) => {
    // Repeated form keys (`match[]`) must survive, so this scope parses forms itself.
    if (app.hasContentTypeParser('application/x-www-form-urlencoded')) app.removeContentTypeParser('application/x-www-form-urlencoded');
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      const out: Record<string, string[]> = {};
      for (const [k, v] of new URLSearchParams(body as string)) (out[k] ??= []).push(v);
      done(null, out);
    });

    app.setErrorHandler((err: { statusCode?: number; message: string }, req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
      if (status >= 500) req.log.error({ err }, 'query API request failed');
      void reply
        .code(status)
        .type('application/json')
        .send(JSON.stringify({ status: 'error', errorType: status === 413 ? 'bad_data' : status >= 500 ? 'internal' : 'bad_data', error: err.message }));
    });

    const route = (path: string, handler: Handler) => {
      const h = async (req: FastifyRequest, reply: FastifyReply) => {
        try {
          const params = collectParams(req.body, req.query);
          const body = await handler(params, req, reply);
          return reply.type('application/json').send(body);
        } catch (err) {
          const apiErr = toApiError(err);
          if (apiErr.type === 'internal') req.log.error({ err }, 'query API error');
          return reply.code(apiErr.status).type('application/json').send(errorJson(apiErr));
        }
      };
      app.get(path, h);
      app.post(path, h);
    };

    const runQuery = async (reply: FastifyReply, params: RawParams, exec: (o: QueryOptions) => Promise<QueryResult>) => {
      const requested = parseDurationParam(params, 'timeout');
      if (requested !== undefined && requested <= 0) throw badParam('timeout', 'timeout must be positive');
      const timeoutMs = Math.min(requested ?? limits.timeoutMs, limits.timeoutMs);
      return slots.run(async () => {
        const ac = new AbortController();
        // Why the query was stopped, so an engine's own "canceled" reads as what happened.
        let stopped: ApiError | undefined;
        let rejectAbort!: (e: ApiError) => void;
        const aborted = new Promise<never>((_, reject) => (rejectAbort = reject));
        const stop = (err: ApiError) => {
          stopped ??= err;
          rejectAbort(stopped);
          ac.abort(stopped);
        };
        const timer = setTimeout(() => stop(new ApiError('timeout', `query timed out in expression evaluation after ${timeoutMs}ms`)), timeoutMs);
        const onClose = () => {
          if (!reply.raw.writableFinished) stop(new ApiError('canceled', 'query was canceled: client closed the connection'));
        };
        reply.raw.once('close', onClose);
        try {
          return await Promise.race([exec({ timeoutMs, maxSamples: limits.maxSamples, signal: ac.signal }), aborted]);
        } catch (err) {
          throw stopped ?? err;
        } finally {
          clearTimeout(timer);
          reply.raw.off('close', onClose);
        }
      });
    };

    const queryText = (params: RawParams): string => {
      const expr = first(params, 'query') ?? '';
      guardQuery(expr, limits);
      return expr;
    };

    route('/api/v1/query', async (params, _req, reply) => {
      const expr = queryText(params);
      const t = parseTimeParam(params, 'time', now());
      const res = await runQuery(reply, params, (o) => opts.engine.instantQuery(expr, t, o));
      return successJson(queryDataJson(res.value), res.warnings, res.infos);
    });

    route('/api/v1/query_range', async (params, _req, reply) => {
      const expr = queryText(params);
      const start = parseTimeParam(params, 'start', NaN);
      const end = parseTimeParam(params, 'end', NaN);
      if (Number.isNaN(start)) throw badParam('start', 'cannot parse "" to a valid timestamp');
      if (Number.isNaN(end)) throw badParam('end', 'cannot parse "" to a valid timestamp');
      if (end < start) throw badParam('end', 'end timestamp must not be before start time');
      const step = parseDurationParam(params, 'step');
      if (step === undefined) throw badParam('step', 'cannot parse "" to a valid duration');
      if (step <= 0) throw badParam('step', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
      if ((end - start) / step > limits.maxPoints) {
        throw new ApiError(
          'bad_data',
          `exceeded maximum resolution of ${limits.maxPoints.toLocaleString('en-US')} points per timeseries. Try decreasing the query resolution (?step=XX)`,
        );
      }
      const res = await runQuery(reply, params, (o) => slicedRangeQuery(opts.engine, expr, start, end, step, o));
      return successJson(queryDataJson(res.value), res.warnings, res.infos);
    });

    const matchSets = (params: RawParams): Matcher[][] =>
      (params['match[]'] ?? []).map((m) => {
        guardQuery(m, limits, 'match[]');
        let matchers: Matcher[];
        try {
          matchers = parseSeriesSelector(m);
        } catch (err) {
          throw badParam('match[]', (err as Error).message);
        }
        return matchers;
      });

    const timeRange = (params: RawParams): [number, number] => {
      const start = parseTimeParam(params, 'start', MIN_TIME);
      const end = parseTimeParam(params, 'end', MAX_TIME);
      if (end < start) throw badParam('end', 'end timestamp must not be before start time');
      return [start, end];
    };

    const effectiveLimit = (params: RawParams) => {
      const asked = parseLimitParam(params);
      return asked > 0 ? Math.min(asked, limits.maxMetadataResults) : limits.maxMetadataResults;
    };
    const truncated = (list: unknown[], limit: number): string[] => {
      if (list.length <= limit) return [];
      list.length = limit;
      return ['results truncated due to limit'];
    };

    route('/api/v1/series', async (params) => {
      const sets = matchSets(params);
      if (sets.length === 0) throw badParam('match[]', 'no match[] parameter provided');
      const [start, end] = timeRange(params);
      const limit = effectiveLimit(params);
      const q = opts.storage.querier();
      const seen = new Map<string, Labels>();
      for (const set of sets) for (const l of q.series(set, start, end)) seen.set(labelsKey(l), l);
      const list = [...seen.entries()].sort((a, b) => compareKeys(a[0], b[0])).map((e) => e[1]);
      const warnings = truncated(list, limit);
      return successJson(JSON.stringify(list), warnings);
    });

    route('/api/v1/labels', async (params) => {
      const sets = matchSets(params);
      const [start, end] = timeRange(params);
      const limit = effectiveLimit(params);
      const q = opts.storage.querier();
      const names = new Set<string>();
      for (const set of sets.length ? sets : [[]]) for (const n of q.labelNames(set, start, end)) names.add(n);
      const list = [...names].sort(compareKeys);
      const warnings = truncated(list, limit);
      return successJson(JSON.stringify(list), warnings);
    });

    route('/api/v1/label/:name/values', async (params, req) => {
      const name = decodeLabelName((req.params as { name: string }).name);
      const sets = matchSets(params);
      const [start, end] = timeRange(params);
      const limit = effectiveLimit(params);
      const q = opts.storage.querier();
      const values = new Set<string>();
      for (const set of sets.length ? sets : [[]]) for (const v of q.labelValues(name, set, start, end)) values.add(v);
      const list = [...values].sort(compareKeys);
      const warnings = truncated(list, limit);
      return successJson(JSON.stringify(list), warnings);
    });

    route('/api/v1/metadata', async (params) => {
      const limit = parseLimitParam(params);
      const perMetric = parseLimitParam(params, 'limit_per_metric');
      const metric = first(params, 'metric');
      const all = opts.metadata?.() ?? {};
      const out: Record<string, MetricMetadata[]> = {};
      let n = 0;
      for (const [name, entries] of Object.entries(all)) {
        if (metric && name !== metric) continue;
        if (limit && n >= limit) break;
        out[name] = perMetric ? entries.slice(0, perMetric) : entries;
        n++;
      }
      return successJson(JSON.stringify(out));
    });

    route('/api/v1/query_exemplars', async (params) => {
      // Vigil stores no exemplars; the parameters are still checked as Prometheus does.
      queryText(params);
      timeRange(params);
      return successJson('[]');
    });

    route('/api/v1/status/buildinfo', async () => successJson(JSON.stringify(buildInfo)));

    route('/api/v1/status/runtimeinfo', async () =>
      successJson(
        JSON.stringify({
          startTime,
          CWD: process.cwd(),
          reloadConfigSuccess: true,
          lastConfigTime: startTime,
          corruptionCount: 0,
          goroutineCount: 0,
          GOMAXPROCS: 1,
          GOMEMLIMIT: 0,
          GOGC: '',
          GODEBUG: '',
          storageRetention: opts.storageRetention ?? '',
        }),
      ),
    );

    route('/api/v1/status/flags', async () => successJson(JSON.stringify(opts.flags?.() ?? {})));
  };
}

/** Prometheus 3 accepts `U__`-escaped UTF-8 label names in the path. */
function decodeLabelName(raw: string): string {
  let name = raw;
  if (name.startsWith('U__')) {
    try {
      name = name.slice(3).replace(/_([0-9a-fA-F]{1,6})_|__/g, (_m, hex: string | undefined) => (hex ? String.fromCodePoint(parseInt(hex, 16)) : '_'));
    } catch {
      throw new ApiError('bad_data', `invalid label name: ${JSON.stringify(raw.slice(0, 100))}`);
    }
  }
  if (name === '' || name.length > 1024) throw new ApiError('bad_data', `invalid label name: ${JSON.stringify(raw.slice(0, 100))}`);
  return name;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
