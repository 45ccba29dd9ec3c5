import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { installAuth } from './auth.js';
import { lazySchemaCompilers } from './lazy-schema-compilers.js';
import { errorTypeForStatus, sendErrorFor } from './errors.js';
import { SessionStore } from './session.js';

const gzipAsync = promisify(gzip);
const GZIP_MIN_BYTES = 16 * 1024;

export interface ServerOptions {
  logger: Logger;
  registry: Registry;
  bodyLimit: number;
  /** Readiness: true once storage is loaded. */
  isReady: () => boolean;
  /** The current server.token: routes declaring `config: { access: 'write' }` need it (or a signed-in session). */
  token?: () => string | undefined;
  /** Browser sessions (sign-in with the token); one is made when not given. */
  sessions?: SessionStore;
}

/** A feature's routes: registered under the server by src/api/routes.ts. */
export type RoutePlugin = FastifyPluginAsync;

declare module 'fastify' {
  interface FastifyInstance {
    /** The server's browser sessions, for the sign-in routes. */
    sessions: SessionStore;
  }
}

/**
 * The HTTP server: health, readiness and self metrics here, authentication
 * applied once for every route (see auth.ts), one error handler building the
 * one error shape. Feature routes are mounted by src/api/routes.ts.
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
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
    schemaController: { compilersFactory: lazySchemaCompilers },
  });
  const sessions = opts.sessions ?? new SessionStore();
  app.decorate('sessions', sessions);
  installAuth(app, { token: opts.token ?? (() => undefined), sessions });

  // Large JSON answers (a UI listing 10k alerts, a wide query range) go gzip'd when
  // the client accepts it, as Prometheus does; compressed on the thread pool.
  app.addHook('onSend', async (req, reply, payload) => {
    if (typeof payload !== 'string' || payload.length < GZIP_MIN_BYTES || reply.hasHeader('content-encoding')) return payload;
    if (!/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) return payload;
    if (!String(reply.getHeader('content-type') ?? '').includes('json')) return payload;
    const body = await gzipAsync(payload, { level: 4 });
    reply.header('content-encoding', 'gzip').header('vary', 'accept-encoding').removeHeader('content-length');
    return body;
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

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    // Schema failures name the field: "body/matchers must be array".
    const message = err.validation ? `invalid request: ${err.message}` : err.message;
    return sendErrorFor(req.url, reply, status, errorTypeForStatus(status), message);
  });
  app.setNotFoundHandler((req, reply) => sendErrorFor(req.url, reply, 404, 'not_found', `no route ${req.method} ${req.url.split('?')[0].slice(0, 200)}`));
  return app;
}

/** Parses `host:port` (IPv6 in brackets). */
export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port: Number(listen.slice(i + 1)) };
}
