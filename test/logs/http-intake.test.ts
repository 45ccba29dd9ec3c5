import { mkdtemp, readFile, rm } from 'node:fs/promises';
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
import { waitFor } from '../helpers/net.js';

/** POST /api/v1/logs with no Elasticsearch configured: the local NDJSON file keeps the events. */
describe('HTTP log intake and the local NDJSON sink', () => {
  let dir: string;
  let app: FastifyInstance;
  let pipe: LogPipeline;
  const TOKEN = 'intake-token';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-intake-'));
    const config = logsSchema.parse({ http: { body_limit: '8KiB', max_lines: 50 } });
    pipe = createLogPipeline({ config, dataDir: dir, registry: new Registry(), logger: silentLogger(), storage: new MemoryStorage() });
    await pipe.start();
    app = createServer({ logger: silentLogger(), registry: new Registry(), bodyLimit: 1024 * 1024, isReady: () => true, token: () => TOKEN });
    await app.register(logRoutes(pipe));
  });
  afterAll(async () => {
    await app.close();
    await pipe.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (payload: string, type = 'application/x-ndjson', token = TOKEN) =>
    app.inject({ method: 'POST', url: '/api/v1/logs', headers: { 'content-type': type, authorization: `Bearer ${token}` }, payload });
  const stored = async () =>
    (await readFile(join(dir, 'logs', 'vigil-logs.ndjson'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, any>);

  it('requires the bearer token', async () => {
    const res = await post('{"message":"x"}\n', 'application/x-ndjson', 'wrong');
    expect(res.statusCode).toBe(401);
  });

  it('accepts NDJSON, reports bad lines by number and keeps the good ones', async () => {
    const body = ['{"message":"first","level":"INFO","service":"sical-backend"}', 'oops {', '', '[1,2]', '{"message":"second","user":"bob","action":"delete","resource":"plan","success":false}'].join('\n');
    const res = await post(body);
    expect(res.statusCode).toBe(200);
    const r = res.json() as { accepted: number; rejected: number; errors: Array<{ line: number; error: string }> };
    expect(r.accepted).toBe(2);
    expect(r.errors).toEqual([
      { line: 2, error: expect.stringContaining('invalid JSON') },
      { line: 4, error: 'expected a JSON object, got array' },
    ]);
    await waitFor(async () => ((await stored()).length === 2 ? true : undefined));
    const docs = await stored();
    expect(docs[0]).toMatchObject({ message: 'first', log: { level: 'info' }, service: { name: 'sical-backend' } });
    expect(docs[0]._id).toBeTruthy();
    expect(docs[1]).toMatchObject({ user: { name: 'bob' }, event: { action: 'delete', outcome: 'failure', category: ['iam'] }, labels: { resource: 'plan' } });
  });

  it('accepts a JSON array; re-posting the same batch gives the same _ids', async () => {
    const body = JSON.stringify([{ message: 'a1' }, { message: 'a2' }]);
    expect((await post(body, 'application/json')).statusCode).toBe(200);
    expect((await post(body, 'application/json')).statusCode).toBe(200);
    await waitFor(async () => ((await stored()).length === 6 ? true : undefined));
    const ids = (await stored()).slice(2).map((d) => d._id as string);
    expect(ids[0]).toBe(ids[2]);
    expect(ids[1]).toBe(ids[3]);
  });

  it('rejects hostile batches with a reason', async () => {
    expect((await post('x'.repeat(9000))).statusCode).toBe(413);
    const deep = await post('[' + '{"a":['.repeat(100) + ']}'.repeat(100) + ']', 'application/json');
    expect(deep.statusCode).toBe(400);
    expect(deep.body).toContain('nested deeper');
    const many = await post('{}\n'.repeat(60));
    expect(many.statusCode).toBe(413);
    const none = await post('not json\n');
    expect(none.statusCode).toBe(400);
    expect(none.json()).toMatchObject({ accepted: 0, errors: [{ line: 1 }] });
    expect((await post('', 'application/json')).statusCode).toBe(400);
  });
});
