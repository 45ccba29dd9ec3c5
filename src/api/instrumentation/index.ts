import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Registry } from 'prom-client';
import { runHealthChecks, type HealthCheck } from './health.js';
import { ApiMetrics } from './metrics.js';
import { createApiLogger, parseTraceparent, type ApiLogger } from './request-log.js';

export { ApiMetrics, DB_QUERY_BUCKETS } from './metrics.js';
export { runHealthChecks, pgCheck, redisCheck, httpCheck, memoryCheck, formatUptime, type HealthCheck, type HealthReport } from './health.js';
export { createApiLogger, parseTraceparent, type ApiLogger } from './request-log.js';

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
    vigilStart?: bigint;
    vigilError?: Error;
  }
}

const instrumentation: FastifyPluginAsync<InstrumentationOptions> = async (app: FastifyInstance, opts) => {
  const registry = opts.registry ?? new Registry();
  const metrics = new ApiMetrics(registry, { defaultMetrics: opts.defaultMetrics });
  const startedAt = Date.now();
  const paths = { metrics: '/metrics', health: '/health', ready: '/ready', ...opts.paths };
  const quiet = new Set(opts.quietPaths ?? [paths.metrics, paths.health, paths.ready]);
  const log = opts.logger === false ? undefined : (opts.logger ?? createApiLogger());
  // One child per label combination: prom-client hashes label values on every
  // call otherwise, which shows up at tens of thousands of requests per second.
  const counters = new Map<string, { inc(): void }>();
  const histograms = new Map<string, { observe(v: number): void }>();

  app.decorate('apiMetrics', metrics);

  // Callback-style hooks: async ones cost a promise per request per hook.
  app.addHook('onRequest', (req, _reply, done) => {
    req.vigilStart = process.hrtime.bigint();
    metrics.active.inc();
    done();
  });

  app.addHook('onError', (req, _reply, err, done) => {
    req.vigilError = err;
    done();
  });

  app.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done) => {
    done();
    metrics.active.dec();
    const seconds = req.vigilStart ? Number(process.hrtime.bigint() - req.vigilStart) / 1e9 : 0;
    const endpoint = req.routeOptions.url ?? UNMATCHED_ENDPOINT;
    const method = req.method;
    const status = reply.statusCode;
    const ck = `${method} ${endpoint} ${status}`;
    let c = counters.get(ck);
    if (!c) counters.set(ck, (c = metrics.requests.labels(method, endpoint, String(status))));
    c.inc();
    const hk = `${method} ${endpoint}`;
    let h = histograms.get(hk);
    if (!h) histograms.set(hk, (h = metrics.duration.labels(method, endpoint)));
    h.observe(seconds);

    if (!log || quiet.has(endpoint)) return;
    const fields: Record<string, unknown> = {
      method,
      path: req.url.split('?')[0],
      status,
      latency: seconds,
      client_ip: req.ip,
      user_agent: req.headers['user-agent'] ?? '',
    };
    const trace = parseTraceparent(req.headers.traceparent);
    if (trace) Object.assign(fields, trace);
    if (req.vigilError) {
      fields.error = req.vigilError.message;
      if (status >= 500) fields.stacktrace = req.vigilError.stack;
    }
    if (status >= 500) log.error(fields, 'request failed');
    else if (status >= 400) log.warn(fields, 'request rejected');
    else log.info(fields, 'request');
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
