/**
 * The HTTP edge on a running Vigil with a token: authentication applied once
 * (bearer token, or a browser session with its anti-forgery header), CSP on
 * the UI, schemas refusing malformed input, errors in one shape, and the
 * status and query additions (config redacted, tsdb stats, stats=all,
 * parse_query, format_query).
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createServer as createHttpServer } from '../../src/api/server.js';
import { SessionStore, readCookie } from '../../src/api/session.js';
import { silentLogger } from '../../src/logger.js';
import { ExemplarStore } from '../../src/api/exemplar-store.js';
import { MetadataStore } from '../../src/api/metadata-store.js';
import { parseExemplarLine } from '../../src/api/scrape-observer.js';
import { redactConfig } from '../../src/api/status.js';
import type { Vigil } from '../../src/main.js';
import { baseConfig, e2eDir, type E2EDir } from '../e2e/harness.js';

const TOKEN = 'edge-token-77c2';
const SLACK_SECRET = 'https://hooks.slack.com/services/T000/B000/SECRETPART';
const OPENMETRICS = [
  '# TYPE rpc_seconds histogram',
  '# HELP rpc_seconds RPC latency.',
  '# UNIT rpc_seconds seconds',
  'rpc_seconds_bucket{le="0.1"} 3 # {trace_id="4bf92f3577b34da6"} 0.05 1700000000.5',
  'rpc_seconds_bucket{le="+Inf"} 4 # {trace_id="00f067aa0ba902b7"} 1.5',
  'rpc_seconds_count 4',
  'rpc_seconds_sum 1.7',
  '# EOF',
  '',
].join('\n');
let target: Server;
let d: E2EDir;
let vigil: Vigil;
let origin = '';

const req = (path: string, init: RequestInit = {}) => fetch(`${origin}${path}`, init);
const silenceBody = () =>
  JSON.stringify({ matchers: [{ name: 'alertname', value: 'X', isRegex: false }], startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 3600_000).toISOString(), createdBy: 't', comment: 'c' });

async function signIn(): Promise<{ cookie: string; csrf: string }> {
  const res = await req('/api/v1/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: TOKEN }) });
  expect(res.status).toBe(200);
  const setCookie = res.headers.get('set-cookie')!;
  expect(setCookie).toMatch(/HttpOnly/);
  expect(setCookie).toMatch(/SameSite=Strict/);
  const body = (await res.json()) as { data: { csrfToken: string } };
  return { cookie: setCookie.split(';')[0], csrf: body.data.csrfToken };
}

beforeAll(async () => {
  target = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' }).end(OPENMETRICS));
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  d = e2eDir('edge');
  d.write('vigil.yml', {
    ...baseConfig(),
    scrape_configs: [{ job_name: 'om', static_configs: [{ targets: [`127.0.0.1:${(target.address() as { port: number }).port}`] }] }],
    server: { listen: '127.0.0.1:0', token: TOKEN },
    alerting: { config: { global: { slack_api_url: SLACK_SECRET }, route: { receiver: 'hook' }, receivers: [{ name: 'hook', webhook_configs: [{ url: 'http://127.0.0.1:9/hook' }] }] } },
  });
  vigil = await d.start();
  origin = vigil.url;
  await vigil.collectors.scrapeAll();
}, 90_000);
afterAll(async () => {
  await vigil?.stop();
  d?.remove();
  await new Promise<void>((r) => (target ? target.close(() => r()) : r()));
});

describe('authentication, applied once', () => {
  it('write routes refuse no token, wrong token; accept the bearer token', async () => {
    const post = (headers: Record<string, string>) => req('/api/v2/silences', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: silenceBody() });
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: 'Bearer nope' })).status).toBe(401);
    expect((await post({ authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    // Every write route goes through the same hook.
    for (const [method, path] of [['POST', '/api/v1/jobs/x/run'], ['POST', '/-/reload'], ['DELETE', '/api/v2/silence/abc'], ['POST', '/api/v2/alerts']] as const) {
      const r = await req(path, { method });
      expect(r.status, path).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('a signed-in session writes only with its anti-forgery header, never cross-origin', async () => {
    const { cookie, csrf } = await signIn();
    const post = (headers: Record<string, string>) => req('/api/v2/silences', { method: 'POST', headers: { 'content-type': 'application/json', cookie, ...headers }, body: silenceBody() });
    expect((await post({})).status).toBe(403);
    expect((await post({ 'x-vigil-csrf': 'forged' })).status).toBe(403);
    expect((await post({ 'x-vigil-csrf': csrf, origin: 'https://evil.example' })).status).toBe(403);
    expect((await post({ 'x-vigil-csrf': csrf })).status).toBe(200);
    const info = (await (await req('/api/v1/session', { headers: { cookie } })).json()) as { data: { signedIn: boolean; csrfToken: string } };
    expect(info.data).toMatchObject({ signedIn: true, csrfToken: csrf });
    // Sign-out ends the session.
    await req('/api/v1/session', { method: 'DELETE', headers: { cookie } });
    expect((await post({ 'x-vigil-csrf': csrf })).status).toBe(401);
  });

  it('sign-in refuses a wrong token, malformed and oversized bodies, and other origins', async () => {
    const post = (body: string, headers: Record<string, string> = {}) => req('/api/v1/session', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    expect((await post(JSON.stringify({ token: 'wrong' }))).status).toBe(401);
    expect((await post('{"token":')).status).toBe(400);
    expect((await post(JSON.stringify({ token: 5 }))).status).toBe(400);
    expect((await post(JSON.stringify({ token: 'x'.repeat(10_000) }))).status).toBe(413);
    expect((await post(JSON.stringify({ token: TOKEN }), { origin: 'https://evil.example' })).status).toBe(403);
  });

  it('sessions are bounded and expire', () => {
    let now = 0;
    const s = new SessionStore({ max: 3, ttlMs: 1000, now: () => now });
    const ids = [1, 2, 3, 4].map(() => s.create().id);
    expect(s.get(ids[0])).toBeUndefined();
    expect(s.get(ids[3])).toBeDefined();
    now = 1000;
    expect(s.get(ids[3])).toBeUndefined();
    expect(readCookie('a=1; vigil_session=xyz; b=2', 'vigil_session')).toBe('xyz');
    expect(readCookie('garbage;;=;', 'vigil_session')).toBeUndefined();
  });
});

describe('without a token (the loopback default)', () => {
  it('writes are open to local clients but refused from another origin', async () => {
    const app = createHttpServer({ logger: silentLogger(), registry: new Registry(), bodyLimit: 1024, isReady: () => true });
    app.post('/w', { config: { access: 'write' } }, async () => ({ ok: true }));
    const post = (headers: Record<string, string>) => app.inject({ method: 'POST', url: '/w', headers: { host: 'localhost:9470', ...headers } });
    expect((await post({})).statusCode).toBe(200);
    expect((await post({ origin: 'http://localhost:9470' })).statusCode).toBe(200);
    expect((await post({ origin: 'https://evil.example' })).statusCode).toBe(403);
    expect((await post({ 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403);
    expect((await post({ origin: 'null' })).statusCode).toBe(403);
    await app.close();
  });
});

describe('schemas and one error shape', () => {
  const auth = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };
  it('Alertmanager routes answer schema errors in their shape (a JSON string)', async () => {
    let r = await req('/api/v2/silences', { method: 'POST', headers: auth, body: JSON.stringify({ matchers: 'x', startsAt: 'a', endsAt: 'b' }) });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatch(/body\/matchers must be array/);
    r = await req('/api/v2/alerts?active=maybe');
    expect(r.status).toBe(400);
    expect(typeof (await r.json())).toBe('string');
  });

  it('Prometheus-shaped routes answer {status, errorType, error}', async () => {
    const r = await req('/api/v1/jobs/x/run?wait=sometimes', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ status: 'error', errorType: 'bad_data' });
    const nf = await req('/api/v1/nope');
    expect(nf.status).toBe(404);
    expect(await nf.json()).toMatchObject({ status: 'error', errorType: 'not_found' });
    const logs = await req('/api/v1/logs', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-ndjson' }, body: '{"a":' });
    expect(logs.status).toBe(400);
    expect(await logs.json()).toMatchObject({ status: 'error', errorType: 'bad_data', rejected: 1 });
  });
});

describe('the UI shell', () => {
  it('serves pages with a strict CSP and compressed hashed assets', async () => {
    const r = await req('/alerts', { headers: { 'accept-encoding': 'gzip' } });
    expect(r.status).toBe(200);
    const csp = r.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe');
    const html = await r.text();
    const js = /src="(\/assets\/app-[A-Za-z0-9]+\.js)"/.exec(html)![1];
    const a = await req(js, { headers: { 'accept-encoding': 'br' } });
    expect(a.headers.get('cache-control')).toContain('immutable');
    expect((await req('/assets/..%2Fmanifest.json')).status).toBe(404);
    expect((await req('/assets/index.html')).status).toBe(404);
  });
});

describe('Prometheus API additions', () => {
  it('status/config shows the running config with secrets as <secret>', async () => {
    const body = (await (await req('/api/v1/status/config')).json()) as { data: { yaml: string } };
    expect(body.data.yaml).toContain('<secret>');
    expect(body.data.yaml).not.toContain(TOKEN);
    expect(body.data.yaml).not.toContain('SECRETPART');
    expect(redactConfig({ dsn: 'postgres://u:pw@h/db', x: { url: 'redis://:pw@h:6379' }, list: ['http://a:b@c/'] })).toEqual({
      dsn: '<secret>',
      x: { url: 'redis://<secret>@h:6379' },
      list: ['http://<secret>@c/'],
    });
  });

  it('status/tsdb, flags and runtimeinfo answer in Prometheus shapes', async () => {
    const tsdb = (await (await req('/api/v1/status/tsdb')).json()) as { data: { headStats: { numSeries: number }; seriesCountByMetricName: Array<{ name: string; value: number }> } };
    expect(tsdb.data.headStats.numSeries).toBeGreaterThan(0);
    expect(tsdb.data.seriesCountByMetricName.length).toBeGreaterThan(0);
    const flags = (await (await req('/api/v1/status/flags')).json()) as { data: Record<string, string> };
    expect(flags.data['config.file']).toContain('vigil.yml');
    const rt = (await (await req('/api/v1/status/runtimeinfo')).json()) as { data: { storageRetention: string } };
    expect(rt.data.storageRetention).toBe('1h');
  });

  it('metadata from Vigil\'s own scrape, stats=all, parse_query, format_query', async () => {
    const md = (await (await req('/api/v1/metadata?metric=vigil_scrapes_total')).json()) as { data: Record<string, Array<{ type: string; help: string }>> };
    expect(md.data.vigil_scrapes_total[0]).toMatchObject({ type: 'counter' });
    const q = (await (await req('/api/v1/query?query=up&stats=all')).json()) as { data: { stats: { timings: object; samples: object } } };
    expect(q.data.stats.timings).toHaveProperty('evalTotalTime');
    expect(q.data.stats.samples).toHaveProperty('totalQueryableSamples');
    const pq = (await (await req(`/api/v1/parse_query?query=${encodeURIComponent('sum by (a) (rate(x[5m]))')}`)).json()) as { data: any };
    expect(pq.data).toMatchObject({ type: 'aggregation', op: 'sum', grouping: ['a'], expr: { type: 'call', func: { name: 'rate' }, args: [{ type: 'matrixSelector', name: 'x', range: 300_000 }] } });
    const bad = await req(`/api/v1/format_query?query=${encodeURIComponent('sum(')}`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ errorType: 'bad_data' });
  });

  it('exemplars: OpenMetrics exemplar lines are parsed, kept in a bounded ring and queried by selector', () => {
    expect(parseExemplarLine('rpc_bucket{le="0.1"} 3 # {trace_id="abc"} 0.05 1700000000.5')).toEqual({
      series: { __name__: 'rpc_bucket', le: '0.1' },
      labels: { trace_id: 'abc' },
      value: 0.05,
      t: 1_700_000_000_500,
    });
    expect(parseExemplarLine('rpc_total 3 # {trace_id="a"')).toBeUndefined();
    expect(parseExemplarLine('# HELP x # {a="b"} 1')).toBeUndefined();
    const ring = new ExemplarStore(2);
    for (let i = 0; i < 5; i++) ring.add({ series: { __name__: 'm', i: String(i % 2) }, labels: { trace_id: String(i) }, value: i, t: i * 1000 });
    const got = ring.query([[{ type: '=', name: '__name__', value: 'm' }]], 0, 10_000);
    expect(got.flatMap((g) => g.exemplars.map((e) => e.labels.trace_id)).sort()).toEqual(['3', '4']);
  });

  it('exemplars and UNIT from a scraped OpenMetrics target', async () => {
    const q = new URLSearchParams({ query: 'histogram_quantile(0.9, rate(rpc_seconds_bucket[5m]))', start: '1699999000', end: String(Date.now() / 1000 + 60) });
    const body = (await (await req(`/api/v1/query_exemplars?${q}`)).json()) as { data: Array<{ seriesLabels: Record<string, string>; exemplars: Array<{ labels: Record<string, string>; value: string; timestamp: number }> }> };
    const byLe = Object.fromEntries(body.data.map((g) => [g.seriesLabels.le, g]));
    expect(byLe['0.1'].seriesLabels).toMatchObject({ __name__: 'rpc_seconds_bucket', job: 'om' });
    expect(byLe['0.1'].exemplars[0]).toEqual({ labels: { trace_id: '4bf92f3577b34da6' }, value: '0.05', timestamp: 1700000000.5 });
    expect(byLe['+Inf'].exemplars[0].labels.trace_id).toBe('00f067aa0ba902b7');
    const md = (await (await req('/api/v1/metadata?metric=rpc_seconds')).json()) as { data: Record<string, unknown> };
    expect(md.data.rpc_seconds).toEqual([{ type: 'histogram', help: 'RPC latency.', unit: 'seconds' }]);
    const tm = (await (await req(`/api/v1/targets/metadata?match_target=${encodeURIComponent('{job="om"}')}`)).json()) as { data: Array<{ metric: string }> };
    expect(tm.data.map((x) => x.metric)).toEqual(['rpc_seconds']);
  });

  it('hostile input to the added endpoints ends in clear 400s', async () => {
    for (const path of [
      `/api/v1/format_query?query=${encodeURIComponent('x'.repeat(200_000))}`,
      `/api/v1/format_query?query=${encodeURIComponent('sum('.repeat(2000))}`,
      `/api/v1/parse_query?query=${encodeURIComponent('('.repeat(5000))}`,
      `/api/v1/query_exemplars?query=up&start=bogus`,
      `/api/v1/targets/metadata?match_target=${encodeURIComponent('{job=')}`,
      `/api/v1/metadata?limit=-x`,
    ]) {
      const r = await req(path);
      // An over-long URL is refused by the HTTP parser itself (414/431) before any route.
      expect([400, 413, 414, 422, 431], path.slice(0, 80)).toContain(r.status);
      if (r.status < 414) expect(await r.json(), path.slice(0, 80)).toMatchObject({ status: 'error' });
    }
    // Vigil still answers.
    expect((await req('/-/healthy')).status).toBe(200);
  });

  it('the metadata store is bounded per target and maps untyped to unknown', () => {
    const m = new MetadataStore(2);
    m.set('t', { job: 'j' }, [['a', { type: 'untyped' }], ['b', { type: 'gauge', help: 'h' }], ['c', { type: 'counter' }]]);
    expect([...m.byMetric().entries()]).toEqual([
      ['a', [{ type: 'unknown', help: '', unit: '' }]],
      ['b', [{ type: 'gauge', help: 'h', unit: '' }]],
    ]);
  });
});
