/**
 * Every request Grafana's Prometheus data source makes, with Grafana's exact
 * parameters, sent to Vigil and to the real Prometheus 2.42 holding the same
 * data: backfilled series (promtool) for queries and labels, one scraped
 * target (the same exposition text) for metadata, and one OpenMetrics target
 * with exemplars. Answers are compared in shape and content.
 *
 * Where each request comes from in Grafana's source (grafana/grafana, main):
 *
 * | request | Grafana source |
 * | --- | --- |
 * | POST /api/v1/query query=1+1 time=4 | pkg/promlib/healthcheck.go `healthcheck` (range 1 s..4 s, instant) via pkg/promlib/client/client.go `QueryInstant` |
 * | GET /api/v1/status/buildinfo | pkg/promlib/heuristics.go `getBuildInfo` (flavour and version detection) |
 * | POST /api/v1/query_range query start end step | client.go `QueryRange` (start/end as decimal seconds, step in seconds) |
 * | POST /api/v1/query query time | client.go `QueryInstant` (table and instant panels) |
 * | POST /api/v1/query_exemplars query start end | client.go `QueryExemplars` |
 * | GET /api/v1/label/__name__/values limit=40000 start end | packages/grafana-prometheus/src/resource_clients.ts `LabelsApiClient.queryMetrics` → `queryLabelValues`; language_provider.ts `fetchLabelValues` (same without limit) |
 * | GET /api/v1/labels limit=40000 start end [match[]] | resource_clients.ts `LabelsApiClient.queryLabelKeys`; language_provider.ts `fetchLabels`, `fetchSeriesLabelsMatch` (start end match[]) |
 * | GET /api/v1/label/<name>/values limit=40000 start end match[] | resource_clients.ts `LabelsApiClient.queryLabelValues`; language_provider.ts `fetchSeriesValuesWithMatch` |
 * | GET /api/v1/series start end match[] limit=40000 | resource_clients.ts `BaseResourceClient.querySeries` (match `{__name__!=""}` from `SeriesApiClient.queryMetrics`, `{job!=""}` from `SeriesApiClient.queryLabelValues`); language_provider.ts `fetchSeriesLabels`, `fetchSeries` |
 * | GET /api/v1/metadata | language_provider.ts `loadMetricsMetadata` (no parameters) |
 * | GET /api/v1/targets/metadata, /rules, /alerts, /status/config, /status/flags, /status/runtimeinfo, /status/tsdb | client.go `endpointsSupportOnlyGet`: resource calls Grafana proxies as GET (`/rules` feeds data source-managed alert rules) |
 *
 * Also here, as Prometheus answers them though Grafana does not send them:
 * `stats=all` on both query kinds, and `/api/v1/format_query` (Prometheus's own
 * UI "Format expression"). `/api/v1/parse_query` is newer than Prometheus 2.42
 * (404 there), so its answers are checked in prom-api.test.ts instead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExemplarStore } from '../../src/api/exemplar-store.js';
import { MetadataStore } from '../../src/api/metadata-store.js';
import { scrapeObserver } from '../../src/api/scrape-observer.js';
import { scanExemplars, type RawExemplar } from '../../src/collectors/exemplar-scan.js';
import { parseExposition } from '../../src/collectors/index.js';
import { createEngine } from '../../src/promql/index.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import { backfill, generateDataset, startPrometheus, writeOpenMetrics, type RunningPrometheus } from '../helpers/prometheus.js';
import { waitFor } from '../helpers/net.js';
import { requireBinary } from '../helpers/services.js';
import { rulesApiRoutes } from '../../src/api/rules-api.js';
import { statusRoutes } from '../../src/api/status.js';
import { targetsApiRoutes } from '../../src/api/targets-api.js';
import { queryApiServer } from './prom-api-helpers.js';

const promtool = requireBinary('promtool', 'prometheus');
const prometheus = requireBinary('prometheus', 'prometheus');

const START = 1_699_999_200_000 + 3_000;
const data = generateDataset({ start: START, samples: 240, instances: 2, seed: 5 });
const S = (START + 5 * 60_000) / 1000;
const E = (START + 50 * 60_000) / 1000;
// Grafana's getAdjustedInterval aligns start/end to the minute (sent as seconds).
// Samples lie 3 s past a 15 s boundary, so evaluation never hits a sample's
// timestamp, where Prometheus 2 (closed windows) and 3 (left-open) differ.
const range = { start: String(Math.floor(S / 60) * 60), end: String(Math.ceil(E / 60) * 60) };

/** The exposition both scrape: TYPE, HELP and UNIT for each kind of family. */
const EXPOSITION = [
  '# HELP demo_requests_total Requests served.',
  '# TYPE demo_requests_total counter',
  'demo_requests_total{code="200"} 10',
  '# HELP demo_latency_seconds Request latency.',
  '# TYPE demo_latency_seconds histogram',
  'demo_latency_seconds_bucket{le="0.1"} 1',
  'demo_latency_seconds_bucket{le="+Inf"} 2',
  'demo_latency_seconds_sum 0.3',
  'demo_latency_seconds_count 2',
  '# HELP demo_temperature_celsius Temperature.',
  '# TYPE demo_temperature_celsius gauge',
  'demo_temperature_celsius 21.5',
  '# HELP demo_rpc_seconds RPC durations.',
  '# TYPE demo_rpc_seconds summary',
  'demo_rpc_seconds{quantile="0.5"} 0.1',
  'demo_rpc_seconds_sum 1',
  'demo_rpc_seconds_count 10',
  'demo_untyped 1',
  '',
].join('\n');

/**
 * An OpenMetrics target with exemplars (explicit timestamps inside the query
 * range, so both keep the same ones); no TYPE lines, so /api/v1/metadata is
 * still only the first target's.
 */
const EX_T = Number(range.start) + 600;
const OM_EXPOSITION = [
  `om_requests_total{code="200"} 10 # {trace_id="4bf92f3577b34da6"} 1 ${EX_T}.25`,
  `om_requests_total{code="500"} 2 # {trace_id="00f067aa0ba902b7",span_id="b7ad6b71"} 1 ${EX_T + 60}`,
  `om_latency_seconds_bucket{le="0.1"} 1 # {trace_id="a3ce929d0e0e4736"} 0.05 ${EX_T + 120}`,
  `om_latency_seconds_bucket{le="+Inf"} 2 # {trace_id="f3ce929d0e0e4737"} 0.7 ${EX_T + 180}`,
  'om_latency_seconds_sum 0.75',
  'om_latency_seconds_count 2',
  '# EOF',
  '',
].join('\n');

let target: Server;
let targetAddr = '';
let omTarget: Server;
let omAddr = '';
let prom: RunningPrometheus | undefined;
let app: FastifyInstance;
let vigil = '';
let work = '';

async function get(base: string, path: string, params: Record<string, string | string[]> = {}, method: 'GET' | 'POST' = 'GET') {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
  const res =
    method === 'GET'
      ? await fetch(`${base}${path}${q.size ? `?${q}` : ''}`)
      : await fetch(`${base}${path}`, { method: 'POST', body: q.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  return { status: res.status, body: (await res.json()) as any };
}

/** Numbers within a relative 1e-9, everything else equal; object key order ignored. */
function sameContent(a: unknown, b: unknown, path = '$'): void {
  if (typeof a === 'string' && typeof b === 'string' && a !== b && !Number.isNaN(Number(a)) && !Number.isNaN(Number(b))) {
    const x = Number(a);
    const y = Number(b);
    expect(Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y)), `${path}: ${a} vs ${b}`).toBe(true);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    expect(a.length, `${path}: length`).toBe(b.length);
    a.forEach((x, i) => sameContent(x, b[i], `${path}[${i}]`));
    return;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    expect(Object.keys(a).sort(), `${path}: keys`).toEqual(Object.keys(b).sort());
    for (const k of Object.keys(a)) sameContent((a as any)[k], (b as any)[k], `${path}.${k}`);
    return;
  }
  expect(a, path).toEqual(b);
}

const sortBy = (list: any[], key: (x: any) => string) => [...list].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
const seriesKey = (s: any) => JSON.stringify(Object.entries(s.metric ?? s).sort());

describe.skipIf(!promtool || !prometheus)("Grafana's Prometheus data source requests: Vigil vs Prometheus 2.42", () => {
  beforeAll(async () => {
    target = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(EXPOSITION));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    targetAddr = `127.0.0.1:${(target.address() as { port: number }).port}`;

    omTarget = createServer((req, res) => res.writeHead(200, { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' }).end(OM_EXPOSITION));
    await new Promise<void>((r) => omTarget.listen(0, '127.0.0.1', r));
    omAddr = `127.0.0.1:${(omTarget.address() as { port: number }).port}`;

    // Backfilled blocks for the queries, plus a scrape of the target for metadata.
    work = mkdtempSync(join(tmpdir(), 'vigil-grafana-'));
    await writeOpenMetrics(data, join(work, 'data.om'));
    await backfill(promtool!, join(work, 'data.om'), join(work, 'tsdb'));
    prom = await startPrometheus({
      prometheus: prometheus!,
      dataDir: join(work, 'tsdb'),
      config: `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: ['${targetAddr}']\n  - job_name: exemplars\n    static_configs:\n      - targets: ['${omAddr}']\n`,
      extraArgs: ['--enable-feature=exemplar-storage'],
    });
    await waitFor(async () => Object.keys((await get(prom!.url, '/api/v1/metadata')).body.data).length > 0, 30_000, 200);
    await waitFor(async () => (await get(prom!.url, '/api/v1/query_exemplars', { query: 'om_requests_total', start: range.start, end: range.end })).body.data.length > 0, 30_000, 200);

    const demoTarget = {
      labels: { job: 'demo', instance: targetAddr },
      discoveredLabels: {},
      scrapePool: 'demo',
      scrapeUrl: `http://${targetAddr}/metrics`,
      health: 'up' as const,
      lastError: '',
      lastScrape: Date.now(),
      scrapeIntervalMs: 1000,
      scrapeTimeoutMs: 1000,
    };
    const storage = new MemoryStorage();
    for (const s of data) for (let i = 0; i < s.t.length; i++) storage.add(s.labels, s.t[i], s.v[i]);
    const metadata = new MetadataStore();
    const exemplars = new ExemplarStore(100);
    const observer = scrapeObserver(metadata, exemplars);
    // The same hook the scrape loop calls, with each target's parse result.
    observer({ key: 'demo', labels: { job: 'demo', instance: targetAddr } }, { metadata: [...parseExposition(EXPOSITION).metadata.entries()] });
    const scanned: RawExemplar[] = [];
    scanExemplars(OM_EXPOSITION, scanned);
    observer({ key: 'exemplars', labels: { job: 'exemplars', instance: omAddr } }, { exemplars: scanned });
    app = await queryApiServer({ engine: createEngine(storage), storage, metadata, exemplars, flags: () => ({ 'config.file': 'vigil.yml' }), storageRetention: '15d' }, 1024 * 1024, [
      rulesApiRoutes({ manager: { groups: () => [], alerts: () => [] } }),
      targetsApiRoutes({ collectors: () => ({ targets: () => [demoTarget] }) as never, metadata: (t) => metadata.forTarget(t.labels) }),
      statusRoutes({ config: () => ({ global: { scrape_interval: '1s' } }), retention: '15d', flags: () => ({}) }, storage),
    ]);
    await app.listen({ host: '127.0.0.1', port: 0 });
    vigil = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await prom?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
    await new Promise<void>((r) => (target ? target.close(() => r()) : r()));
    await new Promise<void>((r) => (omTarget ? omTarget.close(() => r()) : r()));
  });

  const both = async (path: string, params: Record<string, string | string[]> = {}, method: 'GET' | 'POST' = 'GET') => {
    const [v, p] = await Promise.all([get(vigil, path, params, method), get(prom!.url, path, params, method)]);
    expect(v.status, `${path}: Vigil ${JSON.stringify(v.body).slice(0, 300)}`).toBe(p.status);
    expect(v.body.status).toBe(p.body.status);
    return { v: v.body, p: p.body };
  };

  it('health check: GET /api/v1/status/buildinfo (version detection) has the same fields', async () => {
    const { v, p } = await both('/api/v1/status/buildinfo');
    expect(Object.keys(v.data).sort()).toEqual(Object.keys(p.data).sort());
  });

  it('health check: POST /api/v1/query query=1+1 at a time', async () => {
    const { v, p } = await both('/api/v1/query', { query: '1+1', time: '4' }, 'POST');
    sameContent(v.data, p.data);
  });

  it('metric names: GET /api/v1/label/__name__/values?start&end (newer Grafana adds limit=40000)', async () => {
    const { v, p } = await both('/api/v1/label/__name__/values', range);
    sameContent(v.data, p.data);
    const limited = await both('/api/v1/label/__name__/values', { ...range, limit: '40000' });
    sameContent(limited.v.data, limited.p.data);
  });

  it('metadata: GET /api/v1/metadata (TYPE/HELP/UNIT from the scrape)', async () => {
    const { v, p } = await both('/api/v1/metadata');
    sameContent(v.data, p.data);
    const one = await both('/api/v1/metadata', { metric: 'demo_latency_seconds', limit: '1' });
    sameContent(one.v.data, one.p.data);
  });

  it('targets metadata: GET /api/v1/targets/metadata?match_target&metric', async () => {
    const { v, p } = await both('/api/v1/targets/metadata', { match_target: '{job="demo"}', metric: 'demo_requests_total' });
    sameContent(v.data, p.data);
  });

  it('label keys: GET /api/v1/labels?start&end, with and without match[], with and without limit=40000', async () => {
    for (const params of [range, { ...range, 'match[]': 'up' }, { limit: '40000', ...range }, { limit: '40000', ...range, 'match[]': 'http_requests_total' }]) {
      const r = await both('/api/v1/labels', params);
      sameContent(r.v.data, r.p.data);
    }
  });

  it('label values with a selector: GET /api/v1/label/job/values?start&end&match[] (and limit=40000)', async () => {
    for (const params of [{ ...range, 'match[]': 'up' }, { limit: '40000', ...range, 'match[]': 'http_requests_total{status=~"5.."}' }]) {
      const r = await both('/api/v1/label/job/values', params);
      sameContent(r.v.data, r.p.data);
    }
    const r = await both('/api/v1/label/endpoint/values', { limit: '40000', ...range, 'match[]': '{__name__="http_requests_total"}' });
    sameContent(r.v.data, r.p.data);
  });

  it('series for the metrics browser: GET /api/v1/series?start&end&match[]&limit=40000', async () => {
    for (const match of ['{__name__="up"}', '{__name__!=""}', '{job!=""}', 'http_requests_total']) {
      const r = await both('/api/v1/series', { ...range, 'match[]': match, limit: '40000' });
      expect(r.v.data.length, match).toBeGreaterThan(0);
      sameContent(sortBy(r.v.data, seriesKey), sortBy(r.p.data, seriesKey));
    }
  });

  const panelQueries = [
    'up',
    'sum by (endpoint) (rate(http_requests_total[5m]))',
    'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))',
    'rate(http_requests_total{status=~"5.."}[5m]) / rate(http_requests_total[5m])',
  ];
  for (const query of panelQueries) {
    it(`panel: POST /api/v1/query_range query=${query} start end step`, async () => {
      const { v, p } = await both('/api/v1/query_range', { query, start: range.start, end: range.end, step: '60' }, 'POST');
      expect(v.data.resultType).toBe(p.data.resultType);
      sameContent(sortBy(v.data.result, seriesKey), sortBy(p.data.result, seriesKey));
    });
    it(`instant / table: POST /api/v1/query query=${query} time`, async () => {
      const { v, p } = await both('/api/v1/query', { query, time: range.end }, 'POST');
      sameContent(sortBy(v.data.result, seriesKey), sortBy(p.data.result, seriesKey));
    });
  }

  it('exemplars: POST /api/v1/query_exemplars?query&start&end, from an OpenMetrics scrape', async () => {
    for (const query of ['sum(rate(om_requests_total[5m]))', 'histogram_quantile(0.9, sum by (le) (rate(om_latency_seconds_bucket[5m])))', 'om_requests_total{code="500"}']) {
      const { v, p } = await both('/api/v1/query_exemplars', { query, ...range }, 'POST');
      expect(v.data.length, query).toBeGreaterThan(0);
      sameContent(sortBy(v.data, (g) => seriesKey(g.seriesLabels)), sortBy(p.data, (g) => seriesKey(g.seriesLabels)));
    }
    // Outside the range: none, from either.
    const { v, p } = await both('/api/v1/query_exemplars', { query: 'om_requests_total', start: range.start, end: String(EX_T - 1) }, 'POST');
    sameContent(v.data, p.data);
  });

  it('data source-managed rules and alerts: GET /api/v1/rules, /api/v1/alerts', async () => {
    for (const path of ['/api/v1/rules', '/api/v1/alerts']) {
      const { v, p } = await both(path);
      sameContent(v.data, p.data);
    }
  });

  /** Same keys at every level, and the same JSON type for each value. */
  function sameShape(a: unknown, b: unknown, path = '$'): void {
    expect(Array.isArray(a), `${path}: array`).toBe(Array.isArray(b));
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length && b.length) sameShape(a[0], b[0], `${path}[0]`);
      return;
    }
    expect(typeof a, `${path}: type`).toBe(typeof b);
    if (a && b && typeof a === 'object' && typeof b === 'object') {
      expect(Object.keys(a).sort(), `${path}: keys`).toEqual(Object.keys(b).sort());
      for (const k of Object.keys(a)) sameShape((a as any)[k], (b as any)[k], `${path}.${k}`);
    }
  }

  it('stats=all on query and query_range: the same result, and stats with the same fields', async () => {
    const query = 'sum by (endpoint) (rate(http_requests_total[5m]))';
    const inst = await both('/api/v1/query', { query, time: range.end, stats: 'all' }, 'POST');
    sameContent(sortBy(inst.v.data.result, seriesKey), sortBy(inst.p.data.result, seriesKey));
    sameShape(inst.v.data.stats, inst.p.data.stats);
    const rng = await both('/api/v1/query_range', { query, start: range.start, end: range.end, step: '60', stats: 'all' }, 'POST');
    sameContent(sortBy(rng.v.data.result, seriesKey), sortBy(rng.p.data.result, seriesKey));
    sameShape(rng.v.data.stats, rng.p.data.stats);
    expect(rng.v.data.stats.samples.totalQueryableSamples).toBeGreaterThan(0);
  });

  it('status/config, status/flags, status/tsdb: the same shape (the contents are each server’s own)', async () => {
    const config = await both('/api/v1/status/config');
    sameShape(config.v.data, config.p.data);
    const flags = await both('/api/v1/status/flags');
    for (const x of [flags.v.data, flags.p.data]) expect(Object.values(x).every((f) => typeof f === 'string')).toBe(true);
    const tsdb = await both('/api/v1/status/tsdb');
    sameShape(tsdb.v.data, tsdb.p.data);
    expect(tsdb.v.data.seriesCountByMetricName.map((e: any) => e.name)).toContain('http_requests_total');
  });

  it('status/runtimeinfo: every field Prometheus 2.42 reports, with the same type (Vigil adds Prometheus 3\'s GOMEMLIMIT)', async () => {
    const { v, p } = await both('/api/v1/status/runtimeinfo');
    for (const [k, x] of Object.entries(p.data)) expect(typeof v.data[k], k).toBe(typeof x);
  });

  it('errors: a bad query answers the same status and errorType', async () => {
    const { v, p } = await both('/api/v1/query_range', { query: 'rate(up[5m]', start: range.start, end: range.end, step: '60' }, 'POST');
    expect(v.errorType).toBe(p.errorType);
  });

  it('format_query: GET /api/v1/format_query (Prometheus ≥ 2.40)', async () => {
    for (const query of ['sum(rate(http_requests_total{status=~"5.."}[5m])) by (endpoint)', 'up{job="api"} offset 5m > bool 0', '-foo / on(a) group_left(b) bar']) {
      const { v, p } = await both('/api/v1/format_query', { query });
      expect(v.data).toBe(p.data);
    }
  });
});
