import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { SourceMapGenerator } from 'source-map-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logRoutes } from '../../src/api/logs-routes.js';
import { createServer } from '../../src/api/server.js';
import { logsSchema } from '../../src/config/logs.js';
import { silentLogger } from '../../src/logger.js';
import { createLogPipeline, type LogPipeline } from '../../src/logs/index.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import { ElasticsearchStandIn } from '../helpers/elasticsearch.js';
import { waitFor } from '../helpers/net.js';

const DS = 'logs-faro-default';
const KEY = 'faro-test-key';
const ORIGIN = 'https://app.example.com';

function body(over: Record<string, unknown> = {}) {
  return {
    meta: {
      app: { name: 'sical-web', version: '1.2.3', environment: 'production' },
      session: { id: 'sess-1' },
      page: { url: 'https://app.example.com/plans?x=1' },
      browser: { name: 'Chrome', version: '120', userAgent: 'Mozilla/5.0 test' },
      user: { id: 'u-7', username: 'alice' },
    },
    exceptions: [
      {
        type: 'TypeError',
        value: "Cannot read properties of undefined (reading 'id')",
        timestamp: '2026-03-01T10:00:00.000Z',
        stacktrace: { frames: [{ filename: 'https://app.example.com/assets/app.min.js', function: 'a', lineno: 1, colno: 15 }] },
        trace: { trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331' },
      },
    ],
    logs: [{ message: 'plan saved', level: 'info', timestamp: '2026-03-01T10:00:01.000Z', context: { planId: '42' } }],
    measurements: [{ type: 'web-vitals', values: { lcp: 1800, cls: 0.02, ttfb: 120 }, timestamp: '2026-03-01T10:00:02.000Z' }],
    ...over,
  };
}

describe('Faro receiver', () => {
  let es: ElasticsearchStandIn;
  let dir: string;
  let app: FastifyInstance;
  let pipe: LogPipeline;
  let storage: MemoryStorage;

  beforeAll(async () => {
    es = await new ElasticsearchStandIn().start();
    dir = await mkdtemp(join(tmpdir(), 'vigil-faro-'));
    // A source map for the minified bundle: app.min.js 1:15 -> src/plans.ts 10:4 (savePlan).
    const gen = new SourceMapGenerator({ file: 'app.min.js' });
    gen.addMapping({ generated: { line: 1, column: 14 }, original: { line: 10, column: 4 }, source: 'src/plans.ts', name: 'savePlan' });
    await writeFile(join(dir, 'app.min.js.map'), gen.toString());
    const config = logsSchema.parse({
      self: false,
      elasticsearch: { urls: [es.url], data_stream: DS, backoff_initial: '10ms' },
      faro: {
        enabled: true,
        api_key: KEY,
        cors_allowed_origins: [ORIGIN],
        max_allowed_payload_size: '64KiB',
        rate_limit: 5,
        rate_burst: 1000,
        sourcemaps_dir: dir,
        sourcemaps_url_prefix: 'https://app.example.com/assets/',
      },
    });
    storage = new MemoryStorage();
    pipe = createLogPipeline({ config, dataDir: dir, registry: new Registry(), logger: silentLogger(), storage });
    await pipe.start();
    app = createServer({ logger: silentLogger(), registry: new Registry(), bodyLimit: 1024 * 1024, isReady: () => true });
    await app.register(logRoutes(pipe));
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await pipe.stop();
    await es.close();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (payload: unknown, headers: Record<string, string> = {}, url = '/collect') =>
    app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', 'x-api-key': KEY, origin: ORIGIN, ...headers },
      payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
    });

  const seriesCount = () => storage.querier().series([{ type: '=~', name: '__name__', value: 'vigil_faro_.*' }], 0, Date.now() + 1e6).length;

  describe('hostile payloads get 4xx with a reason and reach neither storage nor Elasticsearch', () => {
    const cases: Array<[string, () => Promise<{ statusCode: number; body: string }>, number, RegExp]> = [
      ['missing API key', () => post(body(), { 'x-api-key': '' }), 401, /API key/],
      ['wrong API key', () => post(body(), { 'x-api-key': 'nope' }), 401, /API key/],
      ['origin not in the allow-list', () => post(body(), { origin: 'https://evil.example' }), 403, /origin https:\/\/evil\.example is not allowed/],
      ['oversized body', () => post({ ...body(), logs: [{ message: 'x'.repeat(70_000), level: 'info', timestamp: 't' }] }), 413, /./],
      ['gzip bomb', () => post(gzipSync(Buffer.from(JSON.stringify({ ...body(), pad: 'x'.repeat(1_000_000) }))), { 'content-encoding': 'gzip' }), 413, /decompressed payload exceeds/],
      ['deeply nested JSON', () => post('{"meta":{"app":' + '['.repeat(5000) + ']'.repeat(5000) + '}}'), 400, /nested deeper than 32/],
      ['invalid JSON', () => post('{"meta":'), 400, /invalid JSON/],
      ['wrong types: values not numbers', () => post(body({ measurements: [{ type: 'web-vitals', values: { lcp: 'fast' }, timestamp: 't' }] })), 400, /measurements\.0\.values\.lcp/],
      ['wrong types: exceptions not an array', () => post(body({ exceptions: { type: 'x' } })), 400, /exceptions/],
      ['missing meta', () => post({ logs: [] }), 400, /meta/],
      ['unknown top-level key', () => post(body({ evil: 1 })), 400, /evil|Unrecognized/i],
      ['too many frames', () => post(body({ exceptions: [{ type: 'E', value: 'v', timestamp: 't', stacktrace: { frames: Array(500).fill({ filename: 'f', function: 'g' }) } }] })), 400, /frames/],
    ];
    for (const [name, send, code, reason] of cases) {
      it(name, async () => {
        const res = await send();
        expect(res.statusCode).toBe(code);
        expect(res.body).toMatch(reason);
      });
    }
    it('left no trace', async () => {
      await new Promise((r) => setTimeout(r, 300));
      expect(seriesCount()).toBe(0);
      expect(es.count(DS)).toBe(0);
    });
  });

  it('answers CORS preflight for allowed origins only', async () => {
    const ok = await app.inject({ method: 'OPTIONS', url: '/collect', headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-api-key' } });
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(ok.headers['access-control-allow-headers']).toContain('x-api-key');
    const bad = await app.inject({ method: 'OPTIONS', url: '/collect', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(bad.statusCode).toBe(403);
    expect(bad.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('stores exceptions and logs as ECS documents (frames source-mapped) and measurements as histograms', async () => {
    const res = await post(body());
    expect(res.statusCode).toBe(202);
    expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
    await waitFor(() => es.count(DS) === 2);
    const docs = [...es.docs(DS).values()].map((d) => JSON.parse(d.source) as Record<string, any>);
    const ex = docs.find((d) => d.event.dataset === 'faro.exception')!;
    expect(ex.error.type).toBe('TypeError');
    expect(ex.error.message).toContain('reading');
    expect(ex.error.stack_trace).toContain('at savePlan (src/plans.ts:10:5)');
    expect(ex.service).toEqual({ name: 'sical-web', version: '1.2.3', environment: 'production' });
    expect(ex.trace.id).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(ex.user_agent.original).toBe('Mozilla/5.0 test');
    expect(ex.url.path).toBe('/plans');
    expect(ex.user).toEqual({ id: 'u-7', name: 'alice' });
    expect(ex.labels.session_id).toBe('sess-1');
    const log = docs.find((d) => d.event.dataset === 'faro.log')!;
    expect(log.message).toBe('plan saved');
    expect(log.labels.ctx_planId).toBe('42');

    const q = storage.querier();
    const now = Date.now() + 1000;
    const count = q.select([{ type: '=', name: '__name__', value: 'vigil_faro_measurement_count' }, { type: '=', name: 'name', value: 'lcp' }], 0, now);
    expect(count).toHaveLength(1);
    expect(count[0].labels).toMatchObject({ app: 'sical-web', environment: 'production', type: 'web-vitals' });
    expect(count[0].v.at(-1)).toBe(1);
    const le = q.select([{ type: '=', name: '__name__', value: 'vigil_faro_measurement_bucket' }, { type: '=', name: 'name', value: 'lcp' }, { type: '=', name: 'le', value: '2500' }], 0, now);
    expect(le[0].v.at(-1)).toBe(1);
    const sum = q.select([{ type: '=', name: '__name__', value: 'vigil_faro_measurement_sum' }, { type: '=', name: 'name', value: 'cls' }], 0, now);
    expect(sum[0].v.at(-1)).toBeCloseTo(0.02);
  });

  it('accepts the key in the path (/collect/:appKey) and rate-limits per client', async () => {
    const viaPath = await post(body({ exceptions: [], logs: [], measurements: [] }), { 'x-api-key': '' }, `/collect/${KEY}`);
    expect(viaPath.statusCode).toBe(202);
    const codes: number[] = [];
    for (let i = 0; i < 30; i++) codes.push((await post(body({ exceptions: [], logs: [], measurements: [] }), {}, '/collect')).statusCode);
    // burst is 1000 here: all pass; a second receiver with a tiny burst shows the 429.
    expect(codes.every((c) => c === 202)).toBe(true);
  });
});

describe('Faro receiver rate limit', () => {
  it('answers 429 once a client exceeds its burst', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-faro-rl-'));
    const config = logsSchema.parse({ self: false, faro: { enabled: true, rate_limit: 1, rate_burst: 3 } });
    const pipe = createLogPipeline({ config, dataDir: dir, registry: new Registry(), logger: silentLogger(), storage: new MemoryStorage() });
    await pipe.start();
    const app = createServer({ logger: silentLogger(), registry: new Registry(), bodyLimit: 1024 * 1024, isReady: () => true });
    await app.register(logRoutes(pipe));
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await app.inject({ method: 'POST', url: '/collect', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ meta: {} }) });
      codes.push(res.statusCode);
    }
    expect(codes.slice(0, 3)).toEqual([202, 202, 202]);
    expect(codes.slice(3)).toContain(429);
    await app.close();
    await pipe.stop();
    await rm(dir, { recursive: true, force: true });
  });
});
