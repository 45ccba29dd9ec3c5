import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';

export interface ServerOptions {
  logger: Logger;
  registry: Registry;
  bodyLimit: number;
  /** Readiness: true once storage is loaded. */
  isReady: () => boolean;
}

/** A feature's routes: registered under the server by src/main.ts. */
export type RoutePlugin = FastifyPluginAsync;

/**
 * The HTTP server: health, readiness and self metrics here; every feature's
 * routes come in as plugins so each folder owns its endpoints.
 */
export function createServer(opts: ServerOptions): FastifyInstance {
  const app: FastifyInstance = Fastify({
    // Per-request lines are noise at info; errors still log.
    loggerInstance: opts.logger.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit,
    // Prometheus clients send form-encoded POSTs; parsed in the query routes.
    return503OnClosing: true,
    connectionTimeout: 30_000,
    requestTimeout: 120_000,
    routerOptions: { maxParamLength: 1024 },
  });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.get('/-/healthy', async (_req, reply) => reply.type('text/plain').send('Vigil is Healthy.\n'));
  app.get('/-/ready', async (_req, reply) => {
    if (opts.isReady()) return reply.type('text/plain').send('Vigil is Ready.\n');
    return reply.code(503).type('text/plain').send('Service Unavailable\n');
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await opts.registry.metrics();
    return reply.type(opts.registry.contentType).send(body);
  });

  app.setErrorHandler((err: { statusCode?: number; message: string; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    void reply.code(status).send({
      status: 'error',
      errorType: status === 413 ? 'payload_too_large' : status >= 500 ? 'internal' : 'bad_data',
      error: err.message,
    });
  });
  return app;
}

/** Parses `host:port` (IPv6 in brackets). */
export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port: Number(listen.slice(i + 1)) };
}
