/**
 * PostgreSQL as the collector sees it, in postgres_exporter's metric names so
 * community dashboards and rules apply unchanged.
 */
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { UID, type BuildContext } from './constants.js';
import { labelVariable, runbook, stat, timeseries, toDashboard, vigilDashboard } from './panels.js';

const T = '{job=~"$job",instance=~"$instance"}';
const TD = '{job=~"$job",instance=~"$instance",datname=~"$datname"}';
const R = '[$__rate_interval]';

export function postgresDashboard(ctx: BuildContext): Dashboard {
  return vigilDashboard(ctx, UID.postgres, 'PostgreSQL', 'Connections, transactions, deadlocks, cache and replication of PostgreSQL.', ['postgres'])
    .withVariable(labelVariable('job', 'Job', 'label_values(pg_up, job)'))
    .withVariable(labelVariable('instance', 'Instance', 'label_values(pg_up{job=~"$job"}, instance)'))
    .withVariable(labelVariable('datname', 'Database', 'label_values(pg_stat_database_xact_commit{job=~"$job"}, datname)'))
    .withRow(new RowBuilder('Overview'))
    .withPanel(
      stat({
        title: 'Up',
        description: 'Whether the collector reaches PostgreSQL (pg_up). DatabaseConnectionFailure fires after 1m down.',
        baseColor: 'red',
        thresholds: [[1, 'green']],
        queries: [{ expr: `min(pg_up${T})` }],
        links: [runbook(ctx, 'DatabaseConnectionFailure')],
      }),
    )
    .withPanel(
      stat({
        title: 'Connections used',
        description: 'Open connections as a share of max_connections.',
        unit: 'percentunit',
        thresholds: [
          [0.7, 'orange'],
          [0.9, 'red'],
        ],
        queries: [{ expr: `sum(pg_stat_activity_count${T}) / max(pg_settings_max_connections${T})` }],
      }),
    )
    .withPanel(
      stat({
        title: 'Buffer cache hit ratio',
        description: 'Blocks found in shared buffers rather than read from disk.',
        unit: 'percentunit',
        baseColor: 'red',
        thresholds: [
          [0.9, 'orange'],
          [0.99, 'green'],
        ],
        queries: [
          { expr: `sum(rate(pg_stat_database_blks_hit${TD}${R})) / (sum(rate(pg_stat_database_blks_hit${TD}${R})) + sum(rate(pg_stat_database_blks_read${TD}${R})))` },
        ],
      }),
    )
    .withPanel(
      stat({
        title: 'Deadlocks (range)',
        description: 'Deadlocks detected over the dashboard time range.',
        thresholds: [[1, 'red']],
        queries: [{ expr: `sum(increase(pg_stat_database_deadlocks${TD}[$__range]))` }],
      }),
    )
    .withRow(new RowBuilder('Connections and transactions'))
    .withPanel(
      timeseries({
        title: 'Connections vs limit',
        description: 'Connections by state against max_connections.',
        stack: false,
        queries: [
          { expr: `sum by (state) (pg_stat_activity_count${T})`, legend: '{{state}}' },
          { expr: `max(pg_settings_max_connections${T})`, legend: 'max_connections' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Transactions',
        description: 'Commits and rollbacks per second by database.',
        unit: 'ops',
        queries: [
          { expr: `sum by (datname) (rate(pg_stat_database_xact_commit${TD}${R}))`, legend: 'commit {{datname}}' },
          { expr: `sum by (datname) (rate(pg_stat_database_xact_rollback${TD}${R}))`, legend: 'rollback {{datname}}' },
        ],
        links: [toDashboard(UID.planningApi, 'Planning API query latency')],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Deadlocks',
        description: 'Deadlocks per interval by database.',
        queries: [{ expr: `sum by (datname) (increase(pg_stat_database_deadlocks${TD}${R}))`, legend: '{{datname}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Longest transaction',
        description: 'Age of the oldest open transaction by state: long ones hold locks and block vacuum.',
        unit: 's',
        queries: [{ expr: `max by (state) (pg_stat_activity_max_tx_duration${T})`, legend: '{{state}}' }],
      }),
    )
    .withRow(new RowBuilder('Storage and replication'))
    .withPanel(
      timeseries({
        title: 'Buffer cache hit ratio by database',
        description: 'blks_hit / (blks_hit + blks_read).',
        unit: 'percentunit',
        w: 8,
        queries: [
          {
            expr: `sum by (datname) (rate(pg_stat_database_blks_hit${TD}${R})) / (sum by (datname) (rate(pg_stat_database_blks_hit${TD}${R})) + sum by (datname) (rate(pg_stat_database_blks_read${TD}${R})))`,
            legend: '{{datname}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Database size',
        description: 'Size on disk by database.',
        unit: 'bytes',
        w: 8,
        queries: [{ expr: `pg_database_size_bytes${TD}`, legend: '{{datname}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Replication lag',
        description: 'How far each replica is behind the primary (empty on a primary without replicas).',
        unit: 's',
        w: 8,
        thresholds: [[30, 'red']],
        queries: [{ expr: `max by (instance) (pg_replication_lag${T})`, legend: '{{instance}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Rows',
        description: 'Rows fetched, inserted, updated and deleted per second.',
        unit: 'ops',
        w: 24,
        queries: [
          { expr: `sum(rate(pg_stat_database_tup_fetched${TD}${R}))`, legend: 'fetched' },
          { expr: `sum(rate(pg_stat_database_tup_inserted${TD}${R}))`, legend: 'inserted' },
          { expr: `sum(rate(pg_stat_database_tup_updated${TD}${R}))`, legend: 'updated' },
          { expr: `sum(rate(pg_stat_database_tup_deleted${TD}${R}))`, legend: 'deleted' },
        ],
      }),
    )
    .build();
}
