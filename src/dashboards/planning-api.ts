/**
 * The planning API: the four golden signals, then each signal broken down by
 * endpoint, its dependencies as the API sees them, and process saturation.
 * Metric names are the instrumentation contract (seed-notes §2).
 */
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { UID, type BuildContext } from './constants.js';
import { heatmap, labelVariable, runbook, stat, timeseries, toDashboard, vigilDashboard } from './panels.js';

const T = '{job=~"$job",instance=~"$instance"}';
const TE = '{job=~"$job",instance=~"$instance",endpoint=~"$endpoint"}';
const TE5 = '{job=~"$job",instance=~"$instance",endpoint=~"$endpoint",status=~"5.."}';
const R = '[$__rate_interval]';

const quantile = (q: number, by: string) =>
  `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ''}) (rate(http_request_duration_seconds_bucket${TE}${R})))`;

export function planningApiDashboard(ctx: BuildContext): Dashboard {
  return vigilDashboard(ctx, UID.planningApi, 'Planning API', 'Golden signals, endpoints, dependencies and saturation of the planning API.', ['planning-api'])
    .withVariable(labelVariable('job', 'Job', 'label_values(http_requests_total, job)'))
    .withVariable(labelVariable('instance', 'Instance', 'label_values(http_requests_total{job=~"$job"}, instance)'))
    .withVariable(labelVariable('endpoint', 'Endpoint', 'label_values(http_requests_total{job=~"$job"}, endpoint)'))
    .withRow(new RowBuilder('Golden signals'))
    .withPanel(
      stat({
        title: 'Traffic',
        description: 'Requests per second over all endpoints.',
        unit: 'reqps',
        queries: [{ expr: `sum(rate(http_requests_total${TE}${R}))` }],
      }),
    )
    .withPanel(
      stat({
        title: 'Errors',
        description: 'Share of requests answered with a 5xx status. The ErrorRatio alert fires above 5% for 5m.',
        unit: 'percentunit',
        thresholds: [
          [0.01, 'orange'],
          [0.05, 'red'],
        ],
        queries: [{ expr: `sum(rate(http_requests_total${TE5}${R})) / sum(rate(http_requests_total${TE}${R}))` }],
        links: [runbook(ctx, 'HighErrorRate'), toDashboard(UID.logs, 'Recent errors in the logs')],
      }),
    )
    .withPanel(
      stat({
        title: 'Latency p95',
        description: '95th percentile request latency. HighLatency fires above 0.5s, HighResponseTime above 1s.',
        unit: 's',
        thresholds: [
          [0.5, 'orange'],
          [1, 'red'],
        ],
        queries: [{ expr: quantile(0.95, '') }],
        links: [runbook(ctx, 'HighResponseTime')],
      }),
    )
    .withPanel(
      stat({
        title: 'Saturation: in-flight requests',
        description: 'Requests being served right now (active_connections), over all instances.',
        queries: [{ expr: `sum(active_connections${T})` }],
      }),
    )
    .withRow(new RowBuilder('Traffic and errors by endpoint'))
    .withPanel(
      timeseries({
        title: 'Request rate by endpoint',
        description: 'Requests per second per route pattern.',
        unit: 'reqps',
        w: 8,
        queries: [{ expr: `sum by (endpoint) (rate(http_requests_total${TE}${R}))`, legend: '{{endpoint}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Error ratio by endpoint',
        description: 'Share of 5xx answers per route pattern.',
        unit: 'percentunit',
        w: 8,
        thresholds: [[0.05, 'red']],
        queries: [
          {
            expr: `sum by (endpoint) (rate(http_requests_total${TE5}${R})) / sum by (endpoint) (rate(http_requests_total${TE}${R}))`,
            legend: '{{endpoint}}',
          },
        ],
        links: [runbook(ctx, 'HighErrorRate'), toDashboard(UID.logs, 'Recent errors in the logs')],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Responses by status',
        description: 'Requests per second by HTTP status.',
        unit: 'reqps',
        w: 8,
        stack: true,
        queries: [{ expr: `sum by (status) (rate(http_requests_total${TE}${R}))`, legend: '{{status}}' }],
      }),
    )
    .withRow(new RowBuilder('Latency'))
    .withPanel(
      timeseries({
        title: 'Latency p50 / p95 / p99 by endpoint',
        description: 'Request latency quantiles per route pattern, from the http_request_duration_seconds histogram.',
        unit: 's',
        w: 16,
        thresholds: [[1, 'red']],
        queries: [
          { expr: quantile(0.5, 'endpoint'), legend: 'p50 {{endpoint}}' },
          { expr: quantile(0.95, 'endpoint'), legend: 'p95 {{endpoint}}' },
          { expr: quantile(0.99, 'endpoint'), legend: 'p99 {{endpoint}}' },
        ],
        links: [runbook(ctx, 'HighResponseTime')],
      }),
    )
    .withPanel(
      timeseries({
        title: 'In-flight requests',
        description: 'active_connections per instance.',
        w: 8,
        queries: [{ expr: `active_connections${T}`, legend: '{{instance}}' }],
      }),
    )
    .withPanel(
      heatmap({
        title: 'Latency distribution',
        description:
          'How many requests fell into each latency bucket, per step. Query A reads the classic http_request_duration_seconds_bucket series; query B the native histogram http_request_duration_seconds, which Grafana draws as heatmap cells from its buckets. A service exposing both shows both.',
        unit: 's',
        w: 24,
        queries: [
          { expr: `sum by (le) (rate(http_request_duration_seconds_bucket${TE}${R}))`, legend: '{{le}}', heatmap: true },
          { expr: `sum(rate(http_request_duration_seconds${TE}${R}))` },
        ],
        links: [runbook(ctx, 'HighResponseTime')],
      }),
    )
    .withRow(new RowBuilder('Dependencies'))
    .withPanel(
      timeseries({
        title: 'DB query latency p95 by operation and table',
        description: '95th percentile of db_query_duration_seconds.',
        unit: 's',
        queries: [
          {
            expr: `histogram_quantile(0.95, sum by (le, operation, table) (rate(db_query_duration_seconds_bucket${T}${R})))`,
            legend: '{{operation}} {{table}}',
          },
        ],
        links: [toDashboard(UID.postgres, 'PostgreSQL')],
      }),
    )
    .withPanel(
      timeseries({
        title: 'DB queries by operation and table',
        description: 'Queries per second.',
        unit: 'ops',
        queries: [{ expr: `sum by (operation, table) (rate(db_query_duration_seconds_count${T}${R}))`, legend: '{{operation}} {{table}}' }],
        links: [toDashboard(UID.postgres, 'PostgreSQL')],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Cache hit ratio by cache type',
        description: 'hits / (hits + misses) per cache_type.',
        unit: 'percentunit',
        min: 0,
        max: 1,
        queries: [
          {
            expr: `sum by (cache_type) (rate(cache_hits_total${T}${R})) / (sum by (cache_type) (rate(cache_hits_total${T}${R})) + sum by (cache_type) (rate(cache_misses_total${T}${R})))`,
            legend: '{{cache_type}}',
          },
        ],
        links: [toDashboard(UID.redis, 'Redis')],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Business events',
        description: 'Business events per second by type and outcome.',
        unit: 'ops',
        queries: [{ expr: `sum by (event_type, status) (rate(business_events_total${T}${R}))`, legend: '{{event_type}} {{status}}' }],
      }),
    )
    .withRow(new RowBuilder('Process'))
    .withPanel(
      timeseries({
        title: 'Resident memory',
        description: 'process_resident_memory_bytes per instance. HighMemoryUsage fires above 400 MiB.',
        unit: 'bytes',
        w: 8,
        thresholds: [[400 * 1024 * 1024, 'red']],
        queries: [{ expr: `process_resident_memory_bytes${T}`, legend: '{{instance}}' }],
        links: [runbook(ctx, 'HighMemoryUsage')],
      }),
    )
    .withPanel(
      timeseries({
        title: 'CPU',
        description: 'CPU use in percent of one core. HighCPUUsage fires above 80%.',
        unit: 'percent',
        w: 8,
        thresholds: [[80, 'red']],
        queries: [{ expr: `rate(process_cpu_seconds_total${T}${R}) * 100`, legend: '{{instance}}' }],
        links: [runbook(ctx, 'HighCPUUsage')],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Event loop lag p99',
        description: 'How late timers fire: a busy event loop delays every request.',
        unit: 's',
        w: 8,
        queries: [{ expr: `nodejs_eventloop_lag_p99_seconds${T}`, legend: '{{instance}}' }],
      }),
    )
    .build();
}
