import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logRoutes } from '../../src/api/logs-routes.js';
import { createServer } from '../../src/api/server.js';
import { logsSchema } from '../../src/config/logs.js';
import { silentLogger } from '../../src/logger.js';
import { createLogPipeline, type LogPipeline } from '../../src/logs/index.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import { ElasticsearchStandIn } from '../helpers/elasticsearch.js';

/** POST /api/v1/logs answers 200 only once its events are shipped (or spooled). */
describe('HTTP log intake acknowledges durable events only', () => {
  const DS = 'logs-http-durable';
  let dir: string;
  let es: ElasticsearchStandIn;
  let app: FastifyInstance;
  let pipe: LogPipeline;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-http-durable-'));
    es = await new ElasticsearchStandIn().start();
    const config = logsSchema.parse({
      self: false,
      elasticsearch: { urls: [es.url], data_stream: DS, backoff_initial: '10ms', backoff_max: '100ms', request_timeout: '2s' },
    });
    pipe = createLogPipeline({ config, dataDir: dir, registry: new Registry(), logger: silentLogger(), storage: new MemoryStorage(), httpAckTimeoutMs: 500 });
    await pipe.start();
    app = createServer({ logger: silentLogger(), registry: new Registry(), bodyLimit: 1024 * 1024, isReady: () => true });
    await app.register(logRoutes(pipe));
  });
  afterAll(async () => {
    await app.close();
    await pipe.stop();
    await es.close();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (payload: string) => app.inject({ method: 'POST', url: '/api/v1/logs', headers: { 'content-type': 'application/x-ndjson' }, payload });

  it('has the events stored in Elasticsearch when it answers 200', async () => {
    const res = await post('{"message":"one"}\n{"message":"two"}\n');
    expect(res.statusCode).toBe(200);
    expect(es.count(DS)).toBe(2);
  });

  it('answers 503 while the events are not durable, and a retry of the same batch is stored once', async () => {
    es.mode = 'unavailable';
    const body = '{"message":"three"}\n{"message":"four"}\n{"message":"five"}\n';
    const first = await post(body);
    expect(first.statusCode).toBe(503);
    expect(first.headers['retry-after']).toBeDefined();
    expect(first.json()).toMatchObject({ errorType: 'unavailable' });
    expect(es.count(DS)).toBe(2);
    es.mode = 'up';
    // The queued events go out on the next retry; the client's re-post maps to the same _ids.
    const again = await post(body);
    expect(again.statusCode).toBe(200);
    expect(es.count(DS)).toBe(5);
    const messages = [...es.docs(DS).values()].map((d) => (JSON.parse(d.source) as { message: string }).message).sort();
    expect(messages).toEqual(['five', 'four', 'one', 'three', 'two']);
  });
});
