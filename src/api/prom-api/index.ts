import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { QueryEngine, QueryOptions, QueryResult } from '../../promql/types.js';
import { labelsKey } from '../../model/labels.js';
import { slicedRangeQuery } from '../../promql/sliced.js';
import type { Labels, Matcher, Storage } from '../../tsdb/types.js';
import { parseExpr } from '../../promql/parser.js';
import type { Expr } from '../../promql/ast.js';
import type { TargetStatus } from '../../collectors/index.js';
import type { ExemplarStore } from '../exemplar-store.js';
import type { MetadataStore, MetricMetadata } from '../metadata-store.js';
import { exprToJson, exprToString } from '../../promql/print.js';
import { errorJson as errorBody } from '../errors.js';
import { ApiError, badParam, errorJson, toApiError } from './errors.js';
import { formatFloat } from '../../model/strconv.js';
import { queryDataJson, successJson } from './format.js';
import { guardQuery } from './guard.js';
import { DEFAULT_PROM_API_LIMITS, type PromApiLimits } from './limits.js';
import { MAX_TIME, MIN_TIME, collectParams, first, parseDurationParam, parseLimitParam, parseTimeParam, type RawParams } from './params.js';
import { parseSeriesSelector } from './selector.js';
import { Slots } from '../../util/slots.js';

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

export type { MetricMetadata } from '../metadata-store.js';

export interface PromApiOptions {
  engine: QueryEngine;
  storage: Pick<Storage, 'querier'>;
  limits?: Partial<PromApiLimits>;
  buildInfo?: Partial<BuildInfo>;
  /** Feeds /api/v1/metadata and /api/v1/targets/metadata; empty without it. */
  metadata?: Pick<MetadataStore, 'byMetric' | 'forTargets'>;
  /** Feeds /api/v1/query_exemplars; empty without it. */
  exemplars?: Pick<ExemplarStore, 'query'>;
  /** Current targets, to keep /api/v1/targets/metadata to live ones. */
  targets?: () => TargetStatus[];
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
  const slots = new Slots(
    limits.maxConcurrent,
    limits.maxQueued,
    (busy, waiting) => new ApiError('unavailable', `too many queries in flight (${busy} running, ${waiting} waiting); retry later`),
  );

  return async (app) => {
    // Repeated form keys (`match[]`) must survive, so this scope parses forms itself.
    if (app.hasContentTypeParser('application/x-www-form-urlencoded')) app.removeContentTypeParser('application/x-www-form-urlencoded');
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      const out: Record<string, string[]> = {};
      for (const [k, v] of new URLSearchParams(body as string)) (out[k] ??= []).push(v);
      done(null, out);
    });

    // Body-limit and parse failures are `bad_data` here, as Prometheus answers them.
    app.setErrorHandler((err: { statusCode?: number; message: string }, req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
      if (status >= 500) req.log.error({ err }, 'query API request failed');
      void reply
        .code(status)
        .type('application/json')
        .send(errorBody(status >= 500 ? 'internal' : 'bad_data', err.message));
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
      const started = performance.now();
      const res = await runQuery(reply, params, (o) => opts.engine.instantQuery(expr, t, o));
      return successJson(withStats(queryDataJson(res.value), params, res, started), res.warnings, res.infos);
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
      const started = performance.now();
      const res = await runQuery(reply, params, (o) => slicedRangeQuery(opts.engine, expr, start, end, step, o));
      return successJson(withStats(queryDataJson(res.value), params, res, started), res.warnings, res.infos);
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

    // Metadata of targets that have gone away is not shown, as in Prometheus.
    const liveTargets = () => (opts.targets ? new Set(opts.targets().map((t) => labelsKey(t.labels))) : undefined);

    route('/api/v1/metadata', async (params) => {
      const limit = parseLimitParam(params);
      const perMetric = parseLimitParam(params, 'limit_per_metric');
      const metric = first(params, 'metric');
      const out: Record<string, MetricMetadata[]> = {};
      let n = 0;
      const live = liveTargets();
      for (const [name, entries] of opts.metadata?.byMetric(live && ((l) => live.has(labelsKey(l)))) ?? []) {
        if (metric && name !== metric) continue;
        if (limit > 0 && n >= limit) break;
        out[name] = perMetric > 0 ? entries.slice(0, perMetric) : entries;
        n++;
      }
      return successJson(JSON.stringify(out));
    });

    const parsed = (params: RawParams): Expr => {
      const expr = queryText(params);
      try {
        return parseExpr(expr);
      } catch (err) {
        throw toApiError(err);
      }
    };
    route('/api/v1/format_query', async (params) => successJson(JSON.stringify(exprToString(parsed(params)))));
    route('/api/v1/parse_query', async (params) => successJson(JSON.stringify(exprToJson(parsed(params)))));

    route('/api/v1/query_exemplars', async (params) => {
      const tree = parsed(params);
      const [start, end] = timeRange(params);
      const selectors: Matcher[][] = [];
      const walk = (e: Expr): void => {
        switch (e.type) {
          case 'VectorSelector':
            return void selectors.push(e.matchers);
          case 'MatrixSelector':
            return void selectors.push(e.vector.matchers);
          case 'SubqueryExpr':
          case 'UnaryExpr':
          case 'ParenExpr':
            return walk(e.expr);
          case 'AggregateExpr':
            return walk(e.expr);
          case 'BinaryExpr':
            walk(e.lhs);
            return walk(e.rhs);
          case 'Call':
            return e.args.forEach(walk);
        }
      };
      walk(tree);
      const groups = opts.exemplars?.query(selectors, start, end) ?? [];
      return successJson(
        JSON.stringify(
          groups.map((g) => ({
            seriesLabels: g.seriesLabels,
            exemplars: g.exemplars.map((x) => ({ labels: x.labels, value: formatFloat(x.value), timestamp: x.t / 1000 })),
          })),
        ),
      );
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

/**
 * `stats=all` (any non-empty value, as Prometheus): timings measured around the
 * evaluation, and sample counts of the result (the engine does not count
 * the samples it scanned, so these are the points returned).
 */
function withStats(dataJson: string, params: RawParams, res: QueryResult, startedMs: number): string {
  if (!first(params, 'stats')) return dataJson;
  const secs = (performance.now() - startedMs) / 1000;
  const v = res.value;
  const points = v.resultType === 'matrix' ? v.result.reduce((n, s) => n + s.t.length, 0) : v.resultType === 'vector' ? v.result.length : 1;
  const stats = {
    timings: { evalTotalTime: secs, resultSortTime: 0, queryPreparationTime: 0, innerEvalTime: secs, execQueueTime: 0, execTotalTime: secs },
    samples: { totalQueryableSamples: points, peakSamples: points },
  };
  return `${dataJson.slice(0, -1)},"stats":${JSON.stringify(stats)}}`;
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
