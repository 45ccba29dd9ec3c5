import type { FastifyPluginAsync } from 'fastify';
import { Registry } from 'prom-client';
import { createServer } from '../../src/api/server.js';
import { promApiRoutes, type PromApiOptions } from '../../src/api/prom-api/index.js';
import { silentLogger } from '../../src/logger.js';

/** A Vigil HTTP server carrying only the query API, as src/main.ts mounts it. */
export async function queryApiServer(opts: PromApiOptions, bodyLimit = 1024 * 1024, more: FastifyPluginAsync[] = []) {
  const app = createServer({ logger: silentLogger(), registry: new Registry(), bodyLimit, isReady: () => true });
  await app.register(promApiRoutes(opts));
  for (const p of more) await app.register(p);
  await app.ready();
  return app;
}
