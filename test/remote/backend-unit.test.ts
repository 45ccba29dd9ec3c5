import { createServer, type Server } from 'node:http';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { queryBackendSchema } from '../../src/config/remote.js';
import { PromQLError } from '../../src/promql/types.js';
import { BackendError, createBackendEngine } from '../../src/remote/backend.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function backend(handler: (body: string, res: import('node:http').ServerResponse) => void): Promise<string> {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(body, res));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

describe('query backend client', () => {
  it('turns Prometheus API answers into query values (vector, matrix, scalar, special floats) and sends auth', async () => {
    let seen = '';
    const url = await backend((body, res) => {
      seen = body;
      const q = new URLSearchParams(body);
      if (q.get('query') === 'v') json(res, 200, { status: 'success', data: { resultType: 'vector', result: [{ metric: { __name__: 'up', job: 'a' }, value: [1700000000.5, '+Inf'] }] }, warnings: ['w'] });
      else if (q.get('query') === 'm') json(res, 200, { status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: [[1, 'NaN'], [2, '-1.5e-3']] }] } });
      else json(res, 200, { status: 'success', data: { resultType: 'scalar', result: [3, '4'] } });
    });
    const e = createBackendEngine({ config: queryBackendSchema.parse({ url, authorization: { credentials: 'tok' } }) });
    const v = await e.instantQuery('v', 1_700_000_000_500);
    expect(seen).toContain('time=1700000000.500');
    expect(v.value).toEqual({ resultType: 'vector', result: [{ labels: { __name__: 'up', job: 'a' }, t: 1_700_000_000_500, v: Infinity }] });
    expect(v.warnings).toEqual(['w']);
    const m = await e.rangeQuery('m', 1000, 2000, 1000);
    expect(seen).toContain('step=1');
    expect(m.value.resultType).toBe('matrix');
    if (m.value.resultType === 'matrix') expect(m.value.result[0].v).toEqual([NaN, -0.0015]);
    expect((await e.instantQuery('s', 3000)).value).toEqual({ resultType: 'scalar', t: 3000, v: 4 });
  });

  it('reports query errors as PromQL errors and backend trouble as BackendError with a reason, counted', async () => {
    const registry = new Registry();
    let mode = 'bad_data';
    const url = await backend((_b, res) => {
      if (mode === 'bad_data') json(res, 400, { status: 'error', errorType: 'bad_data', error: 'parse error' });
      else if (mode === '503') res.writeHead(503).end('overloaded');
      else if (mode === 'garbage') res.writeHead(200).end('{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"x"]}]}}');
      else if (mode === 'huge') res.writeHead(200).end('x'.repeat(5000));
      else if (mode === 'redirect') res.writeHead(308, { location: 'https://elsewhere/api/v1/query' }).end();
      else if (mode === 'hang') void 0;
    });
    const e = createBackendEngine({ config: queryBackendSchema.parse({ url, timeout: '300ms' }), registry, maxResponseBytes: 1000 });
    await expect(e.instantQuery('(', 0)).rejects.toSatisfy((err: unknown) => err instanceof PromQLError && !(err instanceof BackendError) && err.type === 'bad_data');
    expect(e.up()).toBe(true);
    for (const m of ['503', 'garbage', 'huge', 'redirect', 'hang']) {
      mode = m;
      await expect(e.instantQuery('up', 0)).rejects.toBeInstanceOf(BackendError);
      expect(e.up()).toBe(false);
    }
    mode = 'redirect';
    await expect(e.instantQuery('up', 0)).rejects.toThrow(/HTTP 308 redirect to https:\/\/elsewhere\/api\/v1\/query: set query_backend\.url/);
    const text = await registry.metrics();
    for (const reason of ['http_5xx', 'bad_response', 'timeout']) expect(text).toContain(`reason="${reason}"`);
    server?.closeAllConnections();
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    await expect(e.instantQuery('up', 0)).rejects.toThrow(/unreachable|ECONNREFUSED|fetch failed/);
  });
});

describe('remote configuration', () => {
  it('accepts Prometheus remote_write blocks and rejects bad ones with the path', () => {
    const c = parseConfig(`remote_write:
  - url: http://vm:8428/api/v1/write
    remote_timeout: 10s
    headers: {X-Scope-OrgID: team-a}
    basic_auth: {username: u, password: p}
    write_relabel_configs: [{source_labels: [__name__], regex: 'go_.*', action: drop}]
    queue_config: {capacity: 2500, max_shards: 4, max_samples_per_send: 500, batch_send_deadline: 5s, min_backoff: 30ms, max_backoff: 5s}
    metadata_config: {send: true, send_interval: 1m}
`);
    expect(c.remote_write[0].queue_config.max_shards).toBe(4);
    expect(c.storage.mode).toBe('server');
    expect(() => parseConfig('remote_write: [{url: not-a-url}]')).toThrow(/remote_write\.0\.url|remote_write\[0\]\.url/);
    expect(() => parseConfig('remote_write: [{url: "http://x", headers: {Content-Encoding: gzip}}]')).toThrow(/protocol headers/);
    expect(() => parseConfig('remote_write: [{url: "http://x", queue_config: {min_shards: 5, max_shards: 2}}]')).toThrow(/min_shards/);
    expect(() => parseConfig('remote_write: [{url: "http://x", basic_auth: {username: a}, authorization: {credentials: b}}]')).toThrow(/at most one/);
  });

  it('agent mode needs a query backend for rules and a remote_write target', () => {
    expect(() => parseConfig('storage: {mode: agent}\nrule_files: [r.yml]\nremote_write: [{url: "http://x"}]')).toThrow(/storage\.mode|rule_files need a query_backend/);
    expect(() => parseConfig('storage: {mode: agent}')).toThrow(/remote_write/);
    const ok = parseConfig('storage: {mode: agent}\nrule_files: [r.yml]\nremote_write: [{url: "http://x"}]\nquery_backend: {url: "http://vm:8428"}');
    expect(ok.storage.mode).toBe('agent');
  });
});
