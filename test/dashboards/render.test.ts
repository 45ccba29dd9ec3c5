/**
 * Renders every dashboard the way Grafana would: each panel's PromQL, with the
 * template variables substituted, goes over HTTP to Vigil's Prometheus API
 * (query_range for graphs, query for stats and tables) backed by storage seeded
 * with an hour of data for every metric in the catalogue.
 */
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promApiRoutes } from '../../src/api/prom-api/index.js';
import { createServer } from '../../src/api/server.js';
import { buildDashboards } from '../../src/dashboards/build.js';
import { CATALOGUE, type MetricInfo } from '../../src/dashboards/catalogue.js';
import { prometheusQueries } from '../../src/dashboards/check.js';
import { expandGrafanaVars } from '../../src/dashboards/promql.js';
import { silentLogger } from '../../src/logger.js';
import { EMPTY_BUCKETS, type FloatHistogram } from '../../src/model/histogram.js';
import { createEngine } from '../../src/promql/index.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';

const NOW = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const HOUR = 3_600_000;
const STEP = 15_000;

/** Label variants per metric (beyond job/instance), so the panels' matchers and groupings find series. */
function variants(m: MetricInfo): Array<Record<string, string>> {
  const n = m.name;
  if (n.startsWith('http_requests_total')) {
    return [
      { method: 'GET', endpoint: '/api/plans', status: '200' },
      { method: 'POST', endpoint: '/api/plans', status: '500' },
      { method: 'GET', endpoint: '/api/plans/:id', status: '404' },
    ];
  }
  if (n === 'http_request_duration_seconds') return [{ method: 'GET', endpoint: '/api/plans' }, { method: 'POST', endpoint: '/api/plans/:id' }];
  if (n === 'db_query_duration_seconds') return [{ operation: 'select', table: 'plans' }, { operation: 'insert', table: 'tasks' }];
  if (n.startsWith('cache_')) return [{ cache_type: 'plans' }, { cache_type: 'sessions' }];
  if (n === 'business_events_total') return [{ event_type: 'plan_created', status: 'success' }];
  if (n === 'pg_stat_activity_count' || n === 'pg_stat_activity_max_tx_duration') return [{ datname: 'sical_db', state: 'active' }, { datname: 'sical_db', state: 'idle' }];
  if (n.startsWith('pg_stat_database_') || n === 'pg_database_size_bytes') return [{ datname: 'sical_db' }];
  if (n === 'redis_db_keys' || n === 'redis_db_keys_expiring') return [{ db: 'db0' }];
  const slo = { sloth_id: 'sical-backend-availability', sloth_service: 'sical-backend', sloth_slo: 'availability' };
  if (n === 'ALERTS' || n === 'ALERTS_FOR_STATE') {
    return [
      { alertname: 'HighErrorRate', alertstate: 'firing', severity: 'critical' },
      { alertname: 'HighLatency', alertstate: 'pending', severity: 'warning' },
      { alertname: 'PlanningApiAvailabilityBudgetBurn', alertstate: 'firing', severity: 'critical', sloth_severity: 'page', ...slo },
    ];
  }
  if (n.startsWith('slo:sli_error:ratio_rate')) return [{ ...slo, sloth_window: n.slice('slo:sli_error:ratio_rate'.length) }];
  if (n.startsWith('slo:') || n === 'sloth_slo_info') return [slo];
  if (n.startsWith('prometheus_rule_')) return [{ rule_group: 'rules/sical.yml;sical-backend' }];
  if (n.startsWith('vigil_notification')) return [{ integration: 'slack' }, { integration: 'email' }];
  if (n === 'vigil_alerts') return [{ state: 'active' }, { state: 'suppressed' }];
  if (n === 'vigil_faro_measurement') {
    return ['lcp', 'fcp', 'ttfb', 'inp', 'cls'].map((name) => ({ app: 'sical-web', environment: 'production', type: 'web-vitals', name }));
  }
  if (n === 'vigil_logs_received_events_total') return [{ source: 'faro' }, { source: 'http' }];
  if (n === 'vigil_logs_dropped_events_total') return [{ reason: 'spool_full' }];
  if (n === 'vigil_scrapes_total') return [{ result: 'success' }, { result: 'failure' }];
  return [{}];
}

function jobOf(m: MetricInfo): string {
  switch (m.source) {
    case 'postgres':
      return 'postgres';
    case 'redis':
      return 'redis';
    case 'instrumentation':
    case 'process':
      return 'sical-backend';
    default:
      return 'vigil';
  }
}

const BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 100, 1000, 5000];

/** A native latency histogram (schema 0: bucket i holds (2^(i-1), 2^i]) with `n` observations. */
function nativeLatency(n: number): FloatHistogram {
  const a = Math.floor(n / 3);
  return { schema: 0, counterResetHint: 'unknown', zeroThreshold: 2.938735877055719e-39, zeroCount: 0, count: n, sum: n * 0.2, positive: { idx: [-6, -3, 0], cnt: [a, a, n - 2 * a] }, negative: EMPTY_BUCKETS };
}

function seed(storage: MemoryStorage): void {
  for (const m of CATALOGUE) {
    for (const [vi, extra] of variants(m).entries()) {
      const labels = { job: jobOf(m), instance: `${jobOf(m)}-1:9000`, ...extra };
      for (let t = NOW - HOUR, i = 0; t <= NOW; t += STEP, i++) {
        const grow = (i + 1) * (vi + 1);
        if (m.type === 'histogram' || m.type === 'summary') {
          if (m.type === 'histogram') {
            BUCKETS.forEach((le, k) => storage.add({ __name__: `${m.name}_bucket`, ...labels, le: String(le) }, t, Math.round(grow * (k + 1) / BUCKETS.length)));
            storage.add({ __name__: `${m.name}_bucket`, ...labels, le: '+Inf' }, t, grow);
          } else {
            storage.add({ __name__: m.name, ...labels, quantile: '0.5' }, t, 0.01);
          }
          storage.add({ __name__: `${m.name}_sum`, ...labels }, t, grow * 0.2);
          // The same histogram as a client with native histograms switched on also exposes it.
          if (m.type === 'histogram') storage.add({ __name__: m.name, ...labels }, t, NaN, false, nativeLatency(grow));
          storage.add({ __name__: `${m.name}_count`, ...labels }, t, grow);
        } else if (m.type === 'counter') {
          storage.add({ __name__: m.name, ...labels }, t, grow * 3);
        } else {
          // Gauges: 1 suits up/pg_up/redis_up and ALERTS; others only need a positive value.
          storage.add({ __name__: m.name, ...labels }, t, 1 + (vi % 2));
        }
      }
    }
  }
}

interface ApiAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: unknown[] };
}

describe('dashboards rendered through the query API', () => {
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    const storage = new MemoryStorage();
    seed(storage);
    app = createServer({ logger: silentLogger(), registry: new Registry(), bodyLimit: 1 << 20, isReady: () => true });
    await app.register(promApiRoutes({ engine: createEngine(storage), storage, now: () => NOW }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(async () => {
    await app?.close();
  });

  async function ask(expr: string, instant: boolean): Promise<ApiAnswer> {
    const form = new URLSearchParams({ query: expr });
    if (instant) form.set('time', String(NOW / 1000));
    else {
      form.set('start', String((NOW - HOUR) / 1000));
      form.set('end', String(NOW / 1000));
      form.set('step', '60');
    }
    // Grafana's Prometheus data source POSTs forms (httpMethod: POST in provisioning).
    const res = await fetch(`${base}/api/v1/${instant ? 'query' : 'query_range'}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    return (await res.json()) as ApiAnswer;
  }

  for (const [file, dash] of buildDashboards()) {
    const queries = prometheusQueries(dash).filter((q) => q.panelId !== undefined);
    if (queries.length === 0) continue;
    it(`${file}: every panel query succeeds and returns data`, async () => {
      const failures: string[] = [];
      const empty: string[] = [];
      for (const q of queries) {
        const expr = expandGrafanaVars(q.expr);
        const answer = await ask(expr, q.instant === true);
        if (answer.status !== 'success') failures.push(`${q.where}: ${answer.error} (${expr})`);
        else if (!answer.data || answer.data.result.length === 0) empty.push(`${q.where}: ${expr}`);
      }
      expect(failures).toEqual([]);
      expect(empty).toEqual([]);
    });
  }

  it('the latency heatmap\u2019s native-histogram query answers histograms (which Grafana draws as heatmap cells)', async () => {
    const dash = buildDashboards().get('planning-api')!;
    const q = prometheusQueries(dash).find((x) => x.expr.startsWith('sum(rate(http_request_duration_seconds{'));
    expect(q, 'the native-histogram query of the latency heatmap').toBeDefined();
    const answer = await ask(expandGrafanaVars(q!.expr), false);
    const [series] = answer.data!.result as Array<{ values?: unknown[]; histograms?: Array<[number, { count: string; buckets: unknown[] }]> }>;
    expect(series.values).toBeUndefined();
    expect(series.histograms!.length).toBeGreaterThan(0);
    expect(Number(series.histograms![0][1].count)).toBeGreaterThan(0);
    expect(series.histograms![0][1].buckets.length).toBeGreaterThan(0);
  });

  it('an unknown metric renders empty, which the catalogue check exists to catch', async () => {
    const answer = await ask('sum(rate(http_request_total[1m]))', false);
    expect(answer.status).toBe('success');
    expect(answer.data?.result).toEqual([]);
  });
});
