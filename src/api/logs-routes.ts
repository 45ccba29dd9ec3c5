import type { FastifyPluginAsync } from 'fastify';
import { addTextParsers, HTTP_INTAKE_TYPES } from '../logs/http-intake.js';
import type { LogPipeline } from '../logs/index.js';

/** The log pipeline's HTTP intakes: POST /api/v1/logs (write access) and the Faro receiver. */
export function logRoutes(logs: Pick<LogPipeline, 'intake'>): FastifyPluginAsync {
  return async (app) => {
    const http = logs.intake.http;
    if (http) {
      await app.register(async (scope) => {
        addTextParsers(scope, HTTP_INTAKE_TYPES, http.bodyLimit);
        scope.post(
          '/api/v1/logs',
          {
            config: { access: 'write' },
            bodyLimit: http.bodyLimit,
            // The body is the raw batch text: records are checked one by one, bad ones reported by line.
            schema: { body: { type: 'string' } },
          },
          (req, reply) => http.handle(req, reply),
        );
      });
    }
    // Faro authenticates with its own app keys and answers CORS for browsers: no bearer token.
    if (logs.intake.faro) await app.register(logs.intake.faro);
  };
}
