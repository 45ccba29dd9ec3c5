import { timingSafeEqual } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../../api/errors.js';
import type { FaroConfig } from '../../config/logs.js';
import type { Logger } from '../../logger.js';
import { eventId, type LogEvent } from '../event.js';
import { BadPayload, parseGuarded } from '../json-guard.js';
import { eventToEcs, exceptionToEcs, logToEcs, metaToEcs } from './ecs.js';
import type { MeasurementHistograms } from './measurements.js';
import { describeIssue, faroBodySchema, type FaroBody } from './payload.js';
import { ClientRateLimiter } from './rate-limit.js';

export interface FaroRoutesOptions {
  config: FaroConfig;
  queue: { push(events: LogEvent[]): void; accepting(): boolean };
  histograms: MeasurementHistograms;
  logger: Logger;
  /** Rewrites exception frames through source maps when configured. */
  resolveFrames?: (body: FaroBody) => Promise<void>;
  onAccepted?: (n: number) => void;
}

const MAX_DEPTH = 32;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function fail(reply: FastifyReply, code: number, errorType: string, error: string) {
  return sendError(reply, code, errorType, error);
}

/**
 * The Faro receiver: POST /collect and /collect/:appKey, as Grafana Alloy's
 * faro.receiver serves them. Checks run cheapest first (origin, key, rate,
 * size, depth, schema) and nothing reaches the queue or storage before all pass.
 */
export function faroRoutes(o: FaroRoutesOptions): FaroPlugin {
  const cfg = o.config;
  const limiter = new ClientRateLimiter(cfg.rate_limit, cfg.rate_burst);
  const origins = new Set(cfg.cors_allowed_origins);
  const anyOrigin = origins.has('*');

  /** Sets CORS headers; false when the origin is not allowed. */
  const cors = (req: FastifyRequest, reply: FastifyReply): boolean => {
    const origin = req.headers.origin;
    if (!origin) return true; // not a browser cross-origin request
    if (!anyOrigin && !origins.has(origin)) return false;
    void reply.header('access-control-allow-origin', anyOrigin ? '*' : origin).header('vary', 'Origin');
    return true;
  };

  const plugin: FastifyPluginAsync = async (app) => {
    for (const t of ['application/json', 'text/plain']) {
      if (app.hasContentTypeParser(t)) app.removeContentTypeParser(t);
      app.addContentTypeParser(t, { parseAs: 'buffer', bodyLimit: cfg.max_allowed_payload_size }, (_req, body, done) => done(null, body));
    }

    // Before body parsing, so even 413s carry CORS headers and unknown origins cost nothing.
    app.addHook('onRequest', async (req, reply) => {
      if (!cors(req, reply)) return fail(reply, 403, 'forbidden', `origin ${req.headers.origin} is not allowed`);
    });

    const preflight = async (req: FastifyRequest, reply: FastifyReply) => {
      const asked = req.headers['access-control-request-headers'];
      return reply
        .code(204)
        .header('access-control-allow-methods', 'POST, OPTIONS')
        .header('access-control-allow-headers', typeof asked === 'string' ? asked.slice(0, 1024) : 'content-type, x-api-key, x-faro-session-id')
        .header('access-control-max-age', '600')
        .send();
    };
    app.options('/collect', preflight);
    app.options('/collect/:appKey', preflight);

    const collect = async (req: FastifyRequest<{ Params: { appKey?: string } }>, reply: FastifyReply) => {
      if (cfg.api_key) {
        const given = (req.headers['x-api-key'] as string | undefined) || req.params.appKey || '';
        if (!sameSecret(given, cfg.api_key)) return fail(reply, 401, 'unauthorized', 'missing or wrong API key (x-api-key)');
      }
      if (!limiter.allow(req.ip)) return fail(reply.header('retry-after', '1'), 429, 'rate_limited', 'too many requests');
      if (!Buffer.isBuffer(req.body)) return fail(reply, 415, 'bad_data', 'send application/json');
      if (!o.queue.accepting()) return fail(reply, 503, 'unavailable', 'log queue and spool are full');

      let body: FaroBody;
      try {
        let raw = req.body;
        if (req.headers['content-encoding'] === 'gzip') {
          try {
            raw = gunzipSync(raw, { maxOutputLength: cfg.max_allowed_payload_size });
          } catch (err) {
            const tooBig = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
            throw new BadPayload(tooBig ? `decompressed payload exceeds ${cfg.max_allowed_payload_size} bytes` : 'invalid gzip body', tooBig ? 413 : 400);
          }
        }
        const parsed = faroBodySchema.safeParse(parseGuarded(raw.toString('utf8'), MAX_DEPTH));
        if (!parsed.success) throw new BadPayload(`invalid Faro payload: ${describeIssue(parsed.error)}`);
        body = parsed.data;
      } catch (err) {
        const e = err as BadPayload;
        return fail(reply, e.statusCode ?? 400, e.statusCode === 413 ? 'payload_too_large' : 'bad_data', e.message);
      }

      if (o.resolveFrames) await o.resolveFrames(body).catch((err: unknown) => o.logger.debug({ err }, 'source map resolution failed'));
      const base = metaToEcs(body.meta, req.ip);
      const batch = eventId('faro', req.body.toString('latin1'));
      const events: LogEvent[] = [];
      const add = (kind: string, i: number, doc: Record<string, unknown>) => events.push({ id: eventId(batch, kind, i), json: JSON.stringify(doc) });
      body.exceptions?.forEach((e, i) => add('exception', i, exceptionToEcs(e, base)));
      body.logs?.forEach((l, i) => add('log', i, logToEcs(l, base)));
      body.events?.forEach((e, i) => add('event', i, eventToEcs(e, base)));
      o.queue.push(events);
      o.onAccepted?.(events.length);

      const app = body.meta.app?.name ?? 'unknown';
      const environment = body.meta.app?.environment ?? '';
      const values = (body.measurements ?? []).flatMap((m) => Object.entries(m.values).map(([name, value]) => ({ app, environment, type: m.type, name, value })));
      if (values.length) {
        try {
          await o.histograms.observe(values);
        } catch (err) {
          o.logger.warn({ err: (err as Error).message }, 'could not store Faro measurements');
        }
      }
      return reply.code(202).send('ok');
    };
    app.post('/collect', { bodyLimit: cfg.max_allowed_payload_size }, collect);
    app.post('/collect/:appKey', { bodyLimit: cfg.max_allowed_payload_size }, collect);
  };
  return plugin;
}

export type FaroPlugin = FastifyPluginAsync;
