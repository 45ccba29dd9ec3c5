import type { EventEmitter } from 'node:events';
import { Server as HttpServer, IncomingMessage, type ServerResponse } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Registry } from 'prom-client';
import { runHealthChecks, type HealthCheck } from './health.js';
import { ApiMetrics } from './metrics.js';
import type { CounterCell, HistogramCell } from './cells.js';
import { watchRequestEdges } from './request-edges.js';
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

/** The route whose handler a request reached, kept on the request. */
const kRoute = Symbol('vigil.route');
/** On a raw response: when its request started, and the fastify request it answers. */
const kStart = Symbol('vigil.start');
const kRequest = Symbol('vigil.request');

type TimedRequest = FastifyRequest & { [kRoute]?: RouteCells };
type MarkedResponse = ServerResponse & { [kStart]?: number; [kRequest]?: TimedRequest };
/** HTTP/1 requests received on a connection and not yet answered. */
const kOpen = Symbol('vigil.open');
type CountedSocket = Socket & { [kOpen]?: number };

/**
 * Milliseconds on the monotonic clock. performance.now reads the same clock
 * but checks its receiver through an error-hiding wrapper first: about 520
 * instructions a call under callgrind against 280 for process.hrtime.
 */
function nowMs(): number {
  const t = process.hrtime();
  return t[0] * 1e3 + t[1] / 1e6;
}

/**
 * Sets the record's User-Agent and traceparent from the raw header list.
 * Node builds `req.headers` on first access (a lower-casing pass over every
 * header), which the API itself often never triggers on a GET.
 */
function readLogHeaders(raw: string[], record: RequestRecord): void {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    // The first letter, in either case, rules out headers of the same length
    // (Connection, say) before a lower-cased copy is made.
    const first = name.charCodeAt(0) | 0x20;
    if (name.length === 10 && first === 0x75 && record.userAgent === '' && name.toLowerCase() === 'user-agent') record.userAgent = raw[i + 1];
    else if (name.length === 11 && first === 0x74 && record.traceparent === undefined && name.toLowerCase() === 'traceparent') record.traceparent = raw[i + 1];
  }
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

  const routes = new Map<string, RouteCells>();
  const routeCells = (url: string): RouteCells => {
    let cells = routes.get(url);
    if (!cells) routes.set(url, (cells = new RouteCells(metrics, url, quiet.has(url))));
    return cells;
  };
  // Requests that matched no route share one endpoint value, keeping label cardinality bounded.
  const unmatched = new RouteCells(metrics, UNMATCHED_ENDPOINT, false);

  /** The route of a request whose handler did not run (answered by a hook, failed validation, not found). */
  function routeOf(req: TimedRequest): RouteCells {
    if (req.is404) return unmatched;
    const url = req.routeOptions.url;
    return url === undefined ? unmatched : routeCells(url);
  }

  /**
   * Records a finished request. It runs inside the response's 'finish' event
   * (for HTTP/1, inside the diagnostics channel's publish, which rethrows a
   * subscriber's error as an uncaught exception): a failing logger or a bad
   * header must cost the request's metrics at most, never the process.
   */
  function finish(req: TimedRequest, res: MarkedResponse): void {
    try {
      recordRequest(req, res.statusCode, res[kStart]!);
    } catch {
      // Nothing to report to: the request log is what failed, or its input.
    }
  }

  function recordRequest(req: TimedRequest, status: number, start: number): void {
    const seconds = (nowMs() - start) / 1000;
    const route = req[kRoute] ?? routeOf(req);
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

  // A route's handler marks its requests with the route's series, so the
  // response's end needs no route lookup; requests that never reach a handler
  // are looked up then. Routes registered after this plugin are covered.
  app.addHook('onRoute', (route) => {
    if (typeof route.url !== 'string') return;
    const cells = routeCells(route.url);
    const handler = route.handler;
    route.handler = function (this: FastifyInstance, req, reply) {
      (req as TimedRequest)[kRoute] = cells;
      return handler.call(this, req, reply);
    };
  });

  // Arrivals are counted and timed by the HTTP server itself, ahead of
  // routing. Injected requests never reach the server, so they are not in
  // flight on it. A request leaves when its response ends or its connection
  // closes first (the client went away): HTTP/1 keeps a count per connection,
  // so that one 'close' listener per connection, not one per response, covers
  // aborts.
  const stopWatching = watchRequestEdges(
    app.server,
    (_req, res, socket) => {
      metrics.inFlight++;
      (res as MarkedResponse)[kStart] = nowMs();
      const counted = socket as CountedSocket;
      if (counted[kOpen] === undefined) {
        counted[kOpen] = 0;
        socket.once('close', () => {
          metrics.inFlight -= counted[kOpen]!;
          counted[kOpen] = 0;
        });
      }
      counted[kOpen]++;
    },
    (_req, res, socket) => {
      const counted = socket as CountedSocket;
      // Zero when the connection closed first and took the request's count with it.
      if (counted[kOpen]! > 0) {
        counted[kOpen]!--;
        metrics.inFlight--;
      }
      const req = (res as MarkedResponse)[kRequest];
      if (req !== undefined) finish(req, res);
    },
  );
  app.addHook('onClose', (_app, done) => {
    stopWatching();
    done();
  });
  // HTTP/1 requests of any server go through the channels above; an HTTP/2
  // server's streams arrive as 'request' events. A stream's response closes
  // after its end and on an abort alike.
  // The instance's type says HTTP/1, whatever server it was given.
  const server: EventEmitter = app.server;
  if (!(server instanceof HttpServer || server instanceof HttpsServer)) {
    server.prependListener('request', (req: object, res: ServerResponse) => {
      if (req instanceof IncomingMessage) return;
      metrics.inFlight++;
      res.once('close', () => metrics.inFlight--);
    });
  }

  // The one per-request hook ties the raw response to the request. Requests
  // the channels did not time (injected, HTTP/2) start the clock here and end
  // through a 'finish' listener of their own.
  app.addHook('onRequest', (req, reply, done) => {
    const res = reply.raw as MarkedResponse;
    if (res[kStart] !== undefined) res[kRequest] = req;
    else {
      res[kStart] = nowMs();
      res.once('finish', () => finish(req, res));
    }
    done();
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
