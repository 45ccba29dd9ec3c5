import { IncomingMessage } from 'node:http';
import { Http2ServerRequest } from 'node:http2';
import type { EventEmitter } from 'node:events';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, onRequestHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { Registry } from 'prom-client';
import { runHealthChecks, type HealthCheck } from './health.js';
import { ApiMetrics } from './metrics.js';
import type { CounterCell, HistogramCell } from './cells.js';
import { createApiLogger, requestFields, type ApiLogger, type RequestLogger, type RequestRecord } from './request-log.js';

export { ApiMetrics, DB_QUERY_BUCKETS, REQUEST_DURATION_BUCKETS } from './metrics.js';
export { runHealthChecks, pgCheck, redisCheck, httpCheck, memoryCheck, formatUptime, type HealthCheck, type HealthReport } from './health.js';
export { createApiLogger, parseTraceparent, type ApiLogger, type RequestLogger, type RequestRecord } from './request-log.js';

/** The `endpoint` value of requests that matched no route: keeps label cardinality bounded. */
export const UNMATCHED_ENDPOINT = 'unmatched';

export interface InstrumentationOptions {
  /** Registry to expose; a fresh one by default. */
  registry?: Registry;
  /** Default process metrics (process_resident_memory_bytes, ...). Default true. */
  defaultMetrics?: boolean;
  /** Deep checks behind /health. */
  healthChecks?: HealthCheck[];
  /** Per-check timeout, default 5s. */
  healthCheckTimeoutMs?: number;
  version?: string;
  /** Request log; `false` turns request logging off. Default: JSON lines on stdout. */
  logger?: ApiLogger | false;
  /** Paths of the built-in routes. */
  paths?: { metrics?: string; health?: string; ready?: string };
  /** Requests to these paths are not logged (probes and scrapes are noise). Default: the built-in routes. */
  quietPaths?: string[];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Metric helpers: timeDbQuery, cacheHit, cacheMiss, businessEvent. */
    apiMetrics: ApiMetrics;
  }
  interface FastifyRequest {
    vigilError?: Error;
  }
}

const kRequest = Symbol('vigil.request');
const kStart = Symbol('vigil.start');
const kCells = Symbol('vigil.cells');

/** A response as the plugin tracks it: what its 'finish' listener needs, kept on the response itself. */
interface Tracked extends EventEmitter {
  statusCode: number;
  [kRequest]?: FastifyRequest;
  /** performance.now() when the request's onRequest hooks began. */
  [kStart]?: number;
  /** The matched route's series; unset when the route's own hook did not run. */
  [kCells]?: RouteCells;
}

/** A route's series, looked up once per method and status instead of once per request. */
class RouteCells {
  private readonly byMethod = new Map<string, { duration: HistogramCell; byStatus: Map<number, CounterCell> }>();

  constructor(
    private readonly metrics: ApiMetrics,
    readonly endpoint: string,
    /** Requests to this route are not logged (probes and scrapes are noise). */
    readonly quiet: boolean,
  ) {}

  record(method: string, status: number, seconds: number): void {
    let m = this.byMethod.get(method);
    if (!m) {
      m = { duration: this.metrics.duration.cell({ method, endpoint: this.endpoint }), byStatus: new Map() };
      this.byMethod.set(method, m);
    }
    this.metrics.duration.observe(m.duration, seconds);
    let c = m.byStatus.get(status);
    if (!c) {
      c = this.metrics.requests.cell({ method, endpoint: this.endpoint, status: String(status) });
      m.byStatus.set(status, c);
    }
    c.value++;
  }
}

/**
 * Sets the record's User-Agent and traceparent from the raw header list.
 * Node builds `req.headers` on first access (a lower-casing pass over every
 * header), which the API itself often never triggers on a GET.
 */
function readLogHeaders(raw: string[], record: RequestRecord): void {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 10 && record.userAgent === '' && name.toLowerCase() === 'user-agent') record.userAgent = raw[i + 1];
    else if (name.length === 11 && record.traceparent === undefined && name.toLowerCase() === 'traceparent') record.traceparent = raw[i + 1];
  }
}

/** Whether a request came through the HTTP server (injected ones do not), i.e. was counted in flight. */
function onTheWire(raw: object): boolean {
  return raw instanceof IncomingMessage || raw instanceof Http2ServerRequest;
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

const instrumentation: FastifyPluginAsync<InstrumentationOptions> = async (app: FastifyInstance, opts) => {
  const registry = opts.registry ?? new Registry();
  const metrics = new ApiMetrics(registry, { defaultMetrics: opts.defaultMetrics });
  const startedAt = Date.now();
  const paths = { metrics: '/metrics', health: '/health', ready: '/ready', ...opts.paths };
  const quiet = new Set(opts.quietPaths ?? [paths.metrics, paths.health, paths.ready]);
  const log = opts.logger === false ? undefined : (opts.logger ?? createApiLogger());
  const fastLog = log && 'request' in log ? (log as RequestLogger) : undefined;

  app.decorate('apiMetrics', metrics);

  function finish(route: RouteCells, req: FastifyRequest, status: number, seconds: number): void {
    route.record(req.method, status, seconds);
    if (!log || route.quiet) return;
    const raw = req.raw;
    const record: RequestRecord = {
      method: raw.method!,
      path: pathOf(raw.url!),
      status,
      latency: seconds,
      clientIp: req.ip,
      userAgent: '',
      traceparent: undefined,
      error: req.vigilError,
    };
    readLogHeaders(raw.rawHeaders, record);
    if (fastLog) fastLog.request(record);
    else if (status >= 500) log.error(requestFields(record), 'request failed');
    else if (status >= 400) log.warn(requestFields(record), 'request rejected');
    else log.info(requestFields(record), 'request');
  }

  /** One route's series, shared by its methods. */
  const routes = new Map<string, RouteCells>();
  const cellsFor = (url: string): RouteCells => {
    let cells = routes.get(url);
    if (!cells) routes.set(url, (cells = new RouteCells(metrics, url, quiet.has(url))));
    return cells;
  };
  // Requests that matched no route share one endpoint value, keeping label cardinality bounded.
  const unmatched = new RouteCells(metrics, UNMATCHED_ENDPOINT, false);

  /**
   * The end of every response, one function for all of them (`this` is the
   * response), so a request allocates no closure for it. A request whose
   * route hook never ran (an earlier onRequest hook answered it) is matched
   * to its route here, off the fast path.
   */
  function onFinish(this: Tracked): void {
    const req = this[kRequest];
    // Some responses (injected ones) emit 'finish' twice; the first counts.
    if (req === undefined) return;
    this[kRequest] = undefined;
    const seconds = (performance.now() - this[kStart]!) / 1000;
    if (onTheWire(req.raw)) metrics.inFlight--;
    const cells = this[kCells] ?? (req.is404 ? unmatched : (routes.get(req.routeOptions.url ?? '') ?? unmatched));
    finish(cells, req, this.statusCode, seconds);
  }

  // Every request, matched or not, is timed from its onRequest hook to its
  // response's 'finish' event. Fastify's own onResponse hooks would do the same
  // at about ten times the cost: with any onResponse hook, each reply gets two
  // listeners, timing and a hook-runner chain, which measured 1-2 µs per
  // request on the planning API against well under 1 µs for a plain listener
  // on 'finish' and two onRequest hooks. Callback-style hooks: async ones
  // cost a promise per request per hook.
  app.addHook('onRequest', (req, reply, done) => {
    const res = reply.raw as unknown as Tracked;
    res[kRequest] = req;
    res[kStart] = performance.now();
    res[kCells] = undefined;
    res.on('finish', onFinish);
    done();
  });

  // Each route's own onRequest hook (it runs after the instance's) names the
  // route's series, so a request costs no route lookup. Routes registered
  // after this plugin are covered.
  app.addHook('onRoute', (route) => {
    if (typeof route.url !== 'string') return;
    const cells = cellsFor(route.url);
    const hook: onRequestHookHandler = (_req, reply, done) => {
      (reply.raw as unknown as Tracked)[kCells] = cells;
      done();
    };
    const existing = route.onRequest;
    route.onRequest = existing === undefined ? [hook] : Array.isArray(existing) ? [...existing, hook] : [existing, hook];
  });

  // Arrivals are counted by the HTTP server itself, ahead of routing.
  // Injected requests never reach the server, so they are not in flight on it.
  app.server.prependListener('request', () => {
    metrics.inFlight++;
  });

  app.addHook('onError', (req, _reply, err, done) => {
    req.vigilError = err;
    done();
  });

  app.get(paths.metrics, async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  app.get(paths.health, async (_req, reply) => {
    const report = await runHealthChecks(opts.healthChecks ?? [], {
      version: opts.version ?? process.env.APP_VERSION ?? '0.0.0',
      startedAt,
      defaultTimeoutMs: opts.healthCheckTimeoutMs,
    });
    return reply.code(report.status === 'healthy' ? 200 : 503).send(report);
  });
  // Readiness is shallow: the process serves requests. Dependencies are /health's job.
  app.get(paths.ready, async () => ({ status: 'ready', timestamp: new Date().toISOString() }));
};

/**
 * Mount on the planning API: `await app.register(vigilInstrumentation, {...})`.
 * Registers hooks for every route (not encapsulated) and the /metrics, /health
 * and /ready routes.
 */
export const vigilInstrumentation = fp(instrumentation, { fastify: '5.x', name: 'vigil-instrumentation' });
export default vigilInstrumentation;
