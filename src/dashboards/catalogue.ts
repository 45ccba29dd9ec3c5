/**
 * Every metric name a dashboard or a rule file may use, with who produces it.
 * A name that is not here is a typo or a metric nobody exposes, and the checks in
 * test/dashboards fail on it: a renamed metric breaks the build, not a panel at
 * 3 a.m.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'info';

export type MetricSource =
  /** The instrumentation plugin the planning API mounts (seed-notes §2). */
  | 'instrumentation'
  /** prom-client's default process and Node.js metrics (planning API and Vigil). */
  | 'process'
  /** Series the scrape loop writes for every target. */
  | 'scrape'
  /** HTTP health probes of the collectors (blackbox-exporter names). */
  | 'probe'
  /** PostgreSQL collector, postgres_exporter names. */
  | 'postgres'
  /** Redis collector, redis_exporter names. */
  | 'redis'
  /** Written by the rule engine or exposed by it (Prometheus names). */
  | 'rules'
  /** Faro receiver: browser telemetry turned into series. */
  | 'faro'
  /** Vigil's own components (storage, notifications, log shipping). */
  | 'vigil';

export interface MetricInfo {
  readonly name: string;
  readonly type: MetricType;
  readonly source: MetricSource;
  readonly help: string;
  /**
   * Set when the series only exists in some setups (a replica, a Node.js
   * runtime); the exporter oracle test does not expect it on a plain instance.
   */
  readonly conditional?: string;
}

const m = (name: string, type: MetricType, source: MetricSource, help: string, conditional?: string): MetricInfo =>
  conditional ? { name, type, source, help, conditional } : { name, type, source, help };

const INSTRUMENTATION: MetricInfo[] = [
  m('http_requests_total', 'counter', 'instrumentation', 'HTTP requests by method, endpoint (route pattern) and status'),
  m('http_request_duration_seconds', 'histogram', 'instrumentation', 'HTTP request latency by method and endpoint'),
  m('active_connections', 'gauge', 'instrumentation', 'In-flight HTTP requests'),
  m('db_query_duration_seconds', 'histogram', 'instrumentation', 'Database query latency by operation and table'),
  m('cache_hits_total', 'counter', 'instrumentation', 'Cache hits by cache_type'),
  m('cache_misses_total', 'counter', 'instrumentation', 'Cache misses by cache_type'),
  m('business_events_total', 'counter', 'instrumentation', 'Business events by event_type and status'),
];

// prom-client's collectDefaultMetrics (checked against prom-client in a test).
const PROCESS: MetricInfo[] = [
  m('process_cpu_seconds_total', 'counter', 'process', 'User and system CPU time spent'),
  m('process_cpu_user_seconds_total', 'counter', 'process', 'User CPU time spent'),
  m('process_cpu_system_seconds_total', 'counter', 'process', 'System CPU time spent'),
  m('process_start_time_seconds', 'gauge', 'process', 'Start time of the process since the Unix epoch'),
  m('process_resident_memory_bytes', 'gauge', 'process', 'Resident memory size'),
  m('process_virtual_memory_bytes', 'gauge', 'process', 'Virtual memory size'),
  m('process_heap_bytes', 'gauge', 'process', 'Process heap size'),
  m('process_open_fds', 'gauge', 'process', 'Open file descriptors'),
  m('process_max_fds', 'gauge', 'process', 'Maximum open file descriptors'),
  m('nodejs_eventloop_lag_seconds', 'gauge', 'process', 'Event loop lag'),
  m('nodejs_eventloop_lag_p50_seconds', 'gauge', 'process', 'Event loop lag, median'),
  m('nodejs_eventloop_lag_p90_seconds', 'gauge', 'process', 'Event loop lag, 90th percentile'),
  m('nodejs_eventloop_lag_p99_seconds', 'gauge', 'process', 'Event loop lag, 99th percentile'),
  m('nodejs_eventloop_lag_max_seconds', 'gauge', 'process', 'Event loop lag, maximum'),
  m('nodejs_eventloop_lag_mean_seconds', 'gauge', 'process', 'Event loop lag, mean'),
  m('nodejs_heap_size_used_bytes', 'gauge', 'process', 'V8 heap used'),
  m('nodejs_heap_size_total_bytes', 'gauge', 'process', 'V8 heap total'),
  m('nodejs_external_memory_bytes', 'gauge', 'process', 'Memory held by C++ objects bound to JS'),
  m('nodejs_active_handles_total', 'gauge', 'process', 'Active libuv handles'),
  m('nodejs_active_requests_total', 'gauge', 'process', 'Active libuv requests'),
  m('nodejs_gc_duration_seconds', 'histogram', 'process', 'Garbage collection duration by kind'),
  m('nodejs_version_info', 'info', 'process', 'Node.js version'),
];

// Prometheus' per-target series (scrape/scrape.go), written by the scrape loop.
const SCRAPE: MetricInfo[] = [
  m('up', 'gauge', 'scrape', '1 if the last scrape of the target succeeded'),
  m('scrape_duration_seconds', 'gauge', 'scrape', 'Duration of the last scrape'),
  m('scrape_samples_scraped', 'gauge', 'scrape', 'Samples the target exposed'),
  m('scrape_samples_post_metric_relabeling', 'gauge', 'scrape', 'Samples left after metric relabelling'),
  m('scrape_series_added', 'gauge', 'scrape', 'New series in the last scrape'),
];

const PROBE: MetricInfo[] = [
  m('probe_success', 'gauge', 'probe', '1 if the health probe succeeded'),
  m('probe_duration_seconds', 'gauge', 'probe', 'Duration of the health probe'),
  m('probe_http_status_code', 'gauge', 'probe', 'HTTP status of the health probe'),
];

// Names as prometheus-postgres-exporter publishes them (checked against the real
// exporter in a test).
const POSTGRES: MetricInfo[] = [
  m('pg_up', 'gauge', 'postgres', '1 if the last connection to PostgreSQL succeeded'),
  m('pg_stat_activity_count', 'gauge', 'postgres', 'Connections by datname and state'),
  m('pg_stat_activity_max_tx_duration', 'gauge', 'postgres', 'Longest running transaction by datname and state'),
  m('pg_settings_max_connections', 'gauge', 'postgres', 'max_connections setting'),
  m('pg_stat_database_numbackends', 'gauge', 'postgres', 'Backends connected to the database'),
  m('pg_stat_database_xact_commit', 'counter', 'postgres', 'Committed transactions'),
  m('pg_stat_database_xact_rollback', 'counter', 'postgres', 'Rolled back transactions'),
  m('pg_stat_database_deadlocks', 'counter', 'postgres', 'Deadlocks detected'),
  m('pg_stat_database_blks_hit', 'counter', 'postgres', 'Buffer cache hits'),
  m('pg_stat_database_blks_read', 'counter', 'postgres', 'Disk blocks read'),
  m('pg_stat_database_tup_fetched', 'counter', 'postgres', 'Rows fetched'),
  m('pg_stat_database_tup_inserted', 'counter', 'postgres', 'Rows inserted'),
  m('pg_stat_database_tup_updated', 'counter', 'postgres', 'Rows updated'),
  m('pg_stat_database_tup_deleted', 'counter', 'postgres', 'Rows deleted'),
  m('pg_database_size_bytes', 'gauge', 'postgres', 'Database size on disk'),
  m('pg_locks_count', 'gauge', 'postgres', 'Locks by datname and mode'),
  m('pg_replication_lag', 'gauge', 'postgres', 'Replication lag behind the primary in seconds', 'replica only'),
  m('pg_replication_is_replica', 'gauge', 'postgres', '1 if the server is a replica', 'replication collector'),
];

// Names as prometheus-redis-exporter publishes them (checked against the real exporter).
const REDIS: MetricInfo[] = [
  m('redis_up', 'gauge', 'redis', '1 if the last connection to Redis succeeded'),
  m('redis_memory_used_bytes', 'gauge', 'redis', 'Memory used by Redis'),
  m('redis_memory_max_bytes', 'gauge', 'redis', 'maxmemory setting (0 = unlimited)'),
  m('redis_connected_clients', 'gauge', 'redis', 'Connected clients'),
  m('redis_blocked_clients', 'gauge', 'redis', 'Clients blocked on a blocking call'),
  m('redis_config_maxclients', 'gauge', 'redis', 'maxclients setting'),
  m('redis_keyspace_hits_total', 'counter', 'redis', 'Successful key lookups'),
  m('redis_keyspace_misses_total', 'counter', 'redis', 'Failed key lookups'),
  m('redis_evicted_keys_total', 'counter', 'redis', 'Keys evicted by maxmemory'),
  m('redis_expired_keys_total', 'counter', 'redis', 'Keys expired'),
  m('redis_commands_processed_total', 'counter', 'redis', 'Commands processed'),
  m('redis_db_keys', 'gauge', 'redis', 'Keys per db'),
  m('redis_connected_slaves', 'gauge', 'redis', 'Connected replicas'),
  m('redis_uptime_in_seconds', 'gauge', 'redis', 'Redis uptime'),
];

const RULES: MetricInfo[] = [
  m('ALERTS', 'gauge', 'rules', 'Pending and firing alerts, with alertstate'),
  m('ALERTS_FOR_STATE', 'gauge', 'rules', 'Start time of active alerts, for restoring for: state'),
  m('prometheus_rule_evaluations_total', 'counter', 'rules', 'Rule evaluations by rule_group'),
  m('prometheus_rule_evaluation_failures_total', 'counter', 'rules', 'Failed rule evaluations by rule_group'),
  m('prometheus_rule_group_last_duration_seconds', 'gauge', 'rules', 'Duration of the last rule group evaluation'),
  m('prometheus_rule_group_interval_seconds', 'gauge', 'rules', 'Evaluation interval of a rule group'),
  m('prometheus_rule_group_iterations_missed_total', 'counter', 'rules', 'Rule group evaluations missed because one was slow'),
  m('prometheus_rule_group_iterations_total', 'counter', 'rules', 'Scheduled rule group evaluations'),
  m('prometheus_rule_group_last_evaluation_timestamp_seconds', 'gauge', 'rules', 'Time of the last rule group evaluation'),
  m('prometheus_rule_group_rules', 'gauge', 'rules', 'Rules in a rule group'),
];

// Alertmanager-compatible notification figures.
const NOTIFY: MetricInfo[] = [
  m('alertmanager_notifications_total', 'counter', 'vigil', 'Notification attempts by integration'),
  m('alertmanager_notifications_failed_total', 'counter', 'vigil', 'Failed notifications by integration'),
  m('alertmanager_notification_latency_seconds', 'histogram', 'vigil', 'Notification latency by integration'),
  m('alertmanager_alerts', 'gauge', 'vigil', 'Alerts in the notification pipeline by state'),
  m('alertmanager_silences', 'gauge', 'vigil', 'Silences by state'),
];

const FARO: MetricInfo[] = [
  m('faro_web_vitals_lcp_seconds', 'histogram', 'faro', 'Largest Contentful Paint by app'),
  m('faro_web_vitals_inp_seconds', 'histogram', 'faro', 'Interaction to Next Paint by app'),
  m('faro_web_vitals_fcp_seconds', 'histogram', 'faro', 'First Contentful Paint by app'),
  m('faro_web_vitals_ttfb_seconds', 'histogram', 'faro', 'Time to First Byte by app'),
  m('faro_web_vitals_cls', 'histogram', 'faro', 'Cumulative Layout Shift by app'),
  m('faro_exceptions_total', 'counter', 'faro', 'Browser exceptions by app and type'),
  m('faro_events_total', 'counter', 'faro', 'Accepted Faro items by app and kind'),
  m('faro_rejected_total', 'counter', 'faro', 'Rejected Faro payloads by reason'),
];

const VIGIL: MetricInfo[] = [
  m('vigil_tsdb_series', 'gauge', 'vigil', 'Series in the embedded store'),
  m('vigil_tsdb_samples_appended_total', 'counter', 'vigil', 'Samples appended to the embedded store'),
  m('vigil_tsdb_storage_bytes', 'gauge', 'vigil', 'Bytes the embedded store uses on disk'),
  m('vigil_logs_queued', 'gauge', 'vigil', 'Log events waiting in the shipping queue'),
  m('vigil_logs_spooled_bytes', 'gauge', 'vigil', 'Bytes of log events spooled to disk'),
  m('vigil_logs_shipped_total', 'counter', 'vigil', 'Log events shipped to Elasticsearch'),
  m('vigil_logs_retried_total', 'counter', 'vigil', 'Log bulk requests retried'),
  m('vigil_logs_dropped_total', 'counter', 'vigil', 'Log events dropped, by reason'),
];

export const CATALOGUE: readonly MetricInfo[] = [
  ...INSTRUMENTATION,
  ...PROCESS,
  ...SCRAPE,
  ...PROBE,
  ...POSTGRES,
  ...REDIS,
  ...RULES,
  ...NOTIFY,
  ...FARO,
  ...VIGIL,
];

/** The series names a metric family produces (a histogram has no series of its own name). */
export function seriesNames(info: MetricInfo): string[] {
  switch (info.type) {
    case 'histogram':
      return [`${info.name}_bucket`, `${info.name}_sum`, `${info.name}_count`];
    case 'summary':
      return [info.name, `${info.name}_sum`, `${info.name}_count`];
    default:
      return [info.name];
  }
}

/** Series name -> the metric family producing it. */
export type MetricIndex = ReadonlyMap<string, MetricInfo>;

export function indexCatalogue(entries: readonly MetricInfo[] = CATALOGUE): MetricIndex {
  const index = new Map<string, MetricInfo>();
  for (const e of entries) {
    for (const s of seriesNames(e)) {
      const prev = index.get(s);
      if (prev && prev !== e) throw new Error(`metric catalogue: ${s} is listed twice (${prev.source}, ${e.source})`);
      index.set(s, e);
    }
  }
  return index;
}
