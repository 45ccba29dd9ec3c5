/** Redis as the collector sees it, in redis_exporter's metric names. */
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { UID, type BuildContext } from './constants.js';
import { labelVariable, runbook, stat, timeseries, toDashboard, vigilDashboard } from './panels.js';

const T = '{job=~"$job",instance=~"$instance"}';
const R = '[$__rate_interval]';

export function redisDashboard(ctx: BuildContext): Dashboard {
  return vigilDashboard(ctx, UID.redis, 'Redis', 'Memory, clients, hit ratio and evictions of the Redis cache.', ['redis'])
    .withVariable(labelVariable('job', 'Job', 'label_values(redis_up, job)'))
    .withVariable(labelVariable('instance', 'Instance', 'label_values(redis_up{job=~"$job"}, instance)'))
    .withRow(new RowBuilder('Overview'))
    .withPanel(
      stat({
        title: 'Up',
        description: 'Whether the collector reaches Redis (redis_up). RedisConnectionFailure fires after 1m down.',
        baseColor: 'red',
        thresholds: [[1, 'green']],
        queries: [{ expr: `min(redis_up${T})` }],
        links: [runbook(ctx, 'RedisConnectionFailure')],
      }),
    )
    .withPanel(
      stat({
        title: 'Memory used',
        description: 'Memory Redis uses for data and overhead.',
        unit: 'bytes',
        queries: [{ expr: `sum(redis_memory_used_bytes${T})` }],
      }),
    )
    .withPanel(
      stat({
        title: 'Keyspace hit ratio',
        description: 'Lookups that found their key.',
        unit: 'percentunit',
        baseColor: 'red',
        thresholds: [
          [0.5, 'orange'],
          [0.8, 'green'],
        ],
        queries: [
          {
            expr: `sum(rate(redis_keyspace_hits_total${T}${R})) / (sum(rate(redis_keyspace_hits_total${T}${R})) + sum(rate(redis_keyspace_misses_total${T}${R})))`,
          },
        ],
        links: [toDashboard(UID.planningApi, 'Planning API cache hit ratio')],
      }),
    )
    .withPanel(
      stat({
        title: 'Connected clients',
        description: 'Client connections.',
        queries: [{ expr: `sum(redis_connected_clients${T})` }],
      }),
    )
    .withRow(new RowBuilder('Memory and clients'))
    .withPanel(
      timeseries({
        title: 'Memory used vs maxmemory',
        description: 'maxmemory 0 means unlimited; evictions start when used reaches it.',
        unit: 'bytes',
        queries: [
          { expr: `redis_memory_used_bytes${T}`, legend: 'used {{instance}}' },
          { expr: `redis_memory_max_bytes${T} > 0`, legend: 'maxmemory {{instance}}' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Clients',
        description: 'Connected and blocked clients, and connections refused at maxclients.',
        queries: [
          { expr: `redis_connected_clients${T}`, legend: 'connected {{instance}}' },
          { expr: `redis_blocked_clients${T}`, legend: 'blocked {{instance}}' },
          { expr: `rate(redis_rejected_connections_total${T}${R})`, legend: 'rejected/s {{instance}}' },
        ],
      }),
    )
    .withRow(new RowBuilder('Keyspace'))
    .withPanel(
      timeseries({
        title: 'Hits and misses',
        description: 'Key lookups per second.',
        unit: 'ops',
        w: 8,
        queries: [
          { expr: `sum(rate(redis_keyspace_hits_total${T}${R}))`, legend: 'hits' },
          { expr: `sum(rate(redis_keyspace_misses_total${T}${R}))`, legend: 'misses' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Evicted and expired keys',
        description: 'Evictions mean the cache is too small for its working set.',
        unit: 'ops',
        w: 8,
        queries: [
          { expr: `sum(rate(redis_evicted_keys_total${T}${R}))`, legend: 'evicted' },
          { expr: `sum(rate(redis_expired_keys_total${T}${R}))`, legend: 'expired' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Commands',
        description: 'Commands processed per second.',
        unit: 'ops',
        w: 8,
        queries: [{ expr: `sum by (instance) (rate(redis_commands_processed_total${T}${R}))`, legend: '{{instance}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Keys by db',
        description: 'Keys held per Redis database.',
        w: 24,
        queries: [{ expr: `sum by (db) (redis_db_keys${T})`, legend: '{{db}}' }],
      }),
    )
    .build();
}
