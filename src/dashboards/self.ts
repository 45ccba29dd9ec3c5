/** Vigil itself: are targets scraped, does storage keep up, do logs leave. */
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { UID, type BuildContext } from './constants.js';
import { labelVariable, stat, table, timeseries, toDashboard, vigilDashboard } from './panels.js';

const R = '[$__rate_interval]';
const V = '{job=~"$vigil_job"}';

export function selfDashboard(ctx: BuildContext): Dashboard {
  return vigilDashboard(ctx, UID.self, 'Vigil', 'Scrape health, storage, log shipping and the Vigil process.', ['self'])
    .withVariable(labelVariable('vigil_job', 'Vigil job', 'label_values(vigil_scrape_targets, job)'))
    .withRow(new RowBuilder('Scrape health'))
    .withPanel(
      stat({
        title: 'Targets down',
        description: 'Scrape targets whose last scrape failed (up == 0).',
        thresholds: [[1, 'red']],
        queries: [{ expr: 'count(up == 0) or vector(0)' }],
        links: [toDashboard(UID.planningApi, 'Planning API')],
      }),
    )
    .withPanel(
      stat({
        title: 'Targets up',
        description: 'Scrape targets whose last scrape succeeded.',
        queries: [{ expr: 'count(up == 1) or vector(0)' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Series in storage',
        description: 'Series held by the embedded store.',
        queries: [{ expr: `sum(vigil_tsdb_head_series${V})` }],
      }),
    )
    .withPanel(
      stat({
        title: 'Log events dropped (range)',
        description: 'Log events that could not be shipped nor spooled.',
        thresholds: [[1, 'red']],
        queries: [{ expr: `sum(increase(vigil_logs_dropped_events_total${V}[$__range])) or vector(0)` }],
      }),
    )
    .withPanel(
      table({
        title: 'Targets',
        description: 'Every scrape target, whether it is up and how long its last scrape took.',
        h: 8,
        queries: [{ expr: 'up' }],
        links: [toDashboard(UID.postgres, 'PostgreSQL'), toDashboard(UID.redis, 'Redis'), toDashboard(UID.planningApi, 'Planning API')],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Scrape duration by job',
        description: 'Slowest scrape per job against the 10s scrape timeout.',
        unit: 's',
        queries: [{ expr: 'max by (job) (scrape_duration_seconds)', legend: '{{job}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Samples scraped by job',
        description: 'Samples per scrape, summed per job.',
        queries: [{ expr: 'sum by (job) (scrape_samples_scraped)', legend: '{{job}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Scrape failures by job',
        description: 'Failed scrapes per second, from Vigil\'s own counters.',
        unit: 'ops',
        w: 24,
        queries: [{ expr: `sum by (job) (rate(vigil_scrapes_total{result="failure"}${R}))`, legend: '{{job}}' }],
      }),
    )
    .withRow(new RowBuilder('Storage'))
    .withPanel(
      timeseries({
        title: 'Samples appended',
        description: 'Samples written to the embedded store per second.',
        unit: 'ops',
        w: 8,
        queries: [{ expr: `sum(rate(vigil_tsdb_head_samples_appended_total${V}${R}))`, legend: 'samples/s' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Series',
        description: 'Series in the embedded store.',
        w: 8,
        queries: [{ expr: `sum(vigil_tsdb_head_series${V})`, legend: 'series' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Storage size',
        description: 'Bytes of persisted blocks and of the write-ahead log.',
        unit: 'bytes',
        w: 8,
        queries: [{ expr: `sum(vigil_tsdb_storage_blocks_bytes${V})`, legend: 'blocks' },
          { expr: `sum(vigil_tsdb_wal_storage_size_bytes${V})`, legend: 'WAL' }],
      }),
    )
    .withRow(new RowBuilder('Log shipping'))
    .withPanel(
      timeseries({
        title: 'Queue and spool',
        description: 'Events waiting in memory and bytes spooled to disk while Elasticsearch is unreachable.',
        w: 12,
        queries: [
          { expr: `sum(vigil_logs_queued_events${V})`, legend: 'queued events' },
          { expr: `sum(vigil_logs_spool_bytes${V})`, legend: 'spooled bytes' },
        ],
        links: [toDashboard(UID.logs, 'Logs')],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Shipped, retried, dropped',
        description: 'Events shipped per second, bulk retries and drops by reason.',
        unit: 'ops',
        w: 12,
        queries: [
          { expr: `sum(rate(vigil_logs_shipped_events_total${V}${R}))`, legend: 'shipped' },
          { expr: `sum(rate(vigil_logs_retried_events_total${V}${R}))`, legend: 'retried' },
          { expr: `sum by (reason) (rate(vigil_logs_dropped_events_total${V}${R}))`, legend: 'dropped {{reason}}' },
          { expr: `sum(rate(vigil_logs_dead_lettered_events_total${V}${R}))`, legend: 'dead-lettered' },
        ],
      }),
    )
    .withRow(new RowBuilder('Process'))
    .withPanel(
      timeseries({
        title: 'Memory',
        description: 'Resident memory and V8 heap of Vigil.',
        unit: 'bytes',
        w: 8,
        queries: [
          { expr: `process_resident_memory_bytes${V}`, legend: 'rss {{instance}}' },
          { expr: `nodejs_heap_size_used_bytes${V}`, legend: 'heap {{instance}}' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'CPU',
        description: 'CPU use of Vigil in percent of one core.',
        unit: 'percent',
        w: 8,
        queries: [{ expr: `rate(process_cpu_seconds_total${V}${R}) * 100`, legend: '{{instance}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Event loop lag p99',
        description: 'A lagging event loop delays scrapes and rule evaluations.',
        unit: 's',
        w: 8,
        queries: [{ expr: `nodejs_eventloop_lag_p99_seconds${V}`, legend: '{{instance}}' }],
      }),
    )
    .build();
}
