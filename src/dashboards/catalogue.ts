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
  | 'vigil'
  /** A third-party exporter Vigil's scrape loop collects in some deployments. */
  | 'external';

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
  m('probe_dependency_up', 'gauge', 'probe', 'Dependencies the /health answer reports healthy'),
];

// src/collectors/postgres.ts, in prometheus-postgres-exporter's names (both are
// checked in test/dashboards: the collector's source and the real exporter).
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
  m('pg_stat_database_tup_returned', 'counter', 'postgres', 'Rows returned'),
  m('pg_stat_database_tup_fetched', 'counter', 'postgres', 'Rows fetched'),
  m('pg_stat_database_tup_inserted', 'counter', 'postgres', 'Rows inserted'),
  m('pg_stat_database_tup_updated', 'counter', 'postgres', 'Rows updated'),
  m('pg_stat_database_tup_deleted', 'counter', 'postgres', 'Rows deleted'),
  m('pg_stat_database_temp_bytes', 'counter', 'postgres', 'Bytes written to temporary files'),
  m('pg_database_size_bytes', 'gauge', 'postgres', 'Database size on disk'),
  m('pg_replication_lag', 'gauge', 'postgres', 'Replication lag behind the primary in seconds', 'exporter: replicas only'),
  m('pg_replication_is_replica', 'gauge', 'postgres', '1 if the server is a replica', 'exporter: replicas only'),
  m('pg_postmaster_start_time_seconds', 'gauge', 'postgres', 'Server start time', 'exporter: pg_postmaster collector'),
];

// src/collectors/redis.ts, in prometheus-redis-exporter's names.
const REDIS: MetricInfo[] = [
  m('redis_up', 'gauge', 'redis', '1 if the last connection to Redis succeeded'),
  m('redis_memory_used_bytes', 'gauge', 'redis', 'Memory used by Redis'),
  m('redis_memory_max_bytes', 'gauge', 'redis', 'maxmemory setting (0 = unlimited)'),
  m('redis_mem_fragmentation_ratio', 'gauge', 'redis', 'RSS / used memory'),
  m('redis_connected_clients', 'gauge', 'redis', 'Connected clients'),
  m('redis_blocked_clients', 'gauge', 'redis', 'Clients blocked on a blocking call'),
  m('redis_rejected_connections_total', 'counter', 'redis', 'Connections refused because of maxclients'),
  m('redis_keyspace_hits_total', 'counter', 'redis', 'Successful key lookups'),
  m('redis_keyspace_misses_total', 'counter', 'redis', 'Failed key lookups'),
  m('redis_evicted_keys_total', 'counter', 'redis', 'Keys evicted by maxmemory'),
  m('redis_expired_keys_total', 'counter', 'redis', 'Keys expired'),
  m('redis_commands_processed_total', 'counter', 'redis', 'Commands processed'),
  m('redis_db_keys', 'gauge', 'redis', 'Keys per db'),
  m('redis_db_keys_expiring', 'gauge', 'redis', 'Keys with a TTL per db'),
  m('redis_connected_slaves', 'gauge', 'redis', 'Connected replicas'),
  m('redis_uptime_in_seconds', 'gauge', 'redis', 'Redis uptime'),
];

// src/alerts/rules: series the rule engine writes and its own metrics (Prometheus names).
const RULES: MetricInfo[] = [
  m('ALERTS', 'gauge', 'rules', 'Pending and firing alerts, with alertstate'),
  m('ALERTS_FOR_STATE', 'gauge', 'rules', 'Start time of active alerts, for restoring for: state'),
  m('prometheus_rule_evaluations_total', 'counter', 'rules', 'Rule evaluations by rule_group'),
  m('prometheus_rule_evaluation_failures_total', 'counter', 'rules', 'Failed rule evaluations by rule_group'),
  m('prometheus_rule_evaluation_duration_seconds', 'summary', 'rules', 'Duration of single rule evaluations'),
  m('prometheus_rule_group_duration_seconds', 'summary', 'rules', 'Duration of rule group evaluations'),
  m('prometheus_rule_group_last_duration_seconds', 'gauge', 'rules', 'Duration of the last rule group evaluation'),
  m('prometheus_rule_group_interval_seconds', 'gauge', 'rules', 'Evaluation interval of a rule group'),
  m('prometheus_rule_group_iterations_missed_total', 'counter', 'rules', 'Rule group evaluations missed because one was slow'),
  m('prometheus_rule_group_iterations_total', 'counter', 'rules', 'Scheduled rule group evaluations'),
  m('prometheus_rule_group_last_evaluation_timestamp_seconds', 'gauge', 'rules', 'Time of the last rule group evaluation'),
  m('prometheus_rule_group_last_evaluation_samples', 'gauge', 'rules', 'Samples returned by the last rule group evaluation'),
  m('prometheus_rule_group_rules', 'gauge', 'rules', 'Rules in a rule group'),
  m('vigil_rule_template_errors_total', 'counter', 'rules', 'Annotation templates that failed to render'),
];

// Recording rules generated from slos/*.yml (src/alerts/slo), Sloth's names.
const SLO: MetricInfo[] = [
  ...['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d'].map((w) =>
    m(`slo:sli_error:ratio_rate${w}`, 'gauge', 'rules', `SLI error ratio over ${w}`, 'SLO files configured'),
  ),
  m('slo:objective:ratio', 'gauge', 'rules', 'SLO objective as a ratio', 'SLO files configured'),
  m('slo:error_budget:ratio', 'gauge', 'rules', 'Error budget as a ratio (1 - objective)', 'SLO files configured'),
  m('slo:time_period:days', 'gauge', 'rules', 'SLO period in days', 'SLO files configured'),
  m('slo:current_burn_rate:ratio', 'gauge', 'rules', 'Error budget burn rate over 5m', 'SLO files configured'),
  m('slo:period_burn_rate:ratio', 'gauge', 'rules', 'Error budget burn rate over the SLO period', 'SLO files configured'),
  m('slo:period_error_budget_remaining:ratio', 'gauge', 'rules', 'Error budget left over the SLO period', 'SLO files configured'),
  m('sloth_slo_info', 'info', 'rules', 'One series per SLO with its objective', 'SLO files configured'),
];

// src/alerts/notify.
const NOTIFY: MetricInfo[] = [
  m('vigil_notifications_total', 'counter', 'vigil', 'Notifications sent by integration'),
  m('vigil_notifications_failed_total', 'counter', 'vigil', 'Failed notification attempts by integration'),
  m('vigil_notification_latency_seconds', 'histogram', 'vigil', 'Time to deliver a notification including retries'),
  m('vigil_alerts', 'gauge', 'vigil', 'Alerts held by the notifier, by state'),
];

// src/logs/faro: measurements (web vitals: name=lcp|inp|fcp|ttfb|cls, timings in ms)
// become one histogram family; exceptions go to Elasticsearch as ECS documents.
const FARO: MetricInfo[] = [m('vigil_faro_measurement', 'histogram', 'faro', 'Faro measurements by app, environment, type and name')];

const VIGIL: MetricInfo[] = [
  // src/remote: the external query backend
  m('vigil_query_backend_up', 'gauge', 'vigil', '1 when the last query reached the external query backend', 'query_backend configured'),
  m('vigil_query_backend_failures_total', 'counter', 'vigil', 'Failed queries to the external query backend, by reason', 'query_backend configured'),
  m('vigil_query_backend_requests_total', 'counter', 'vigil', 'Queries sent to the external query backend', 'query_backend configured'),
  // src/tsdb
  m('vigil_tsdb_head_series', 'gauge', 'vigil', 'Series in the head block'),
  m('vigil_tsdb_head_chunks', 'gauge', 'vigil', 'Chunks in the head block'),
  m('vigil_tsdb_samples', 'gauge', 'vigil', 'Samples held in storage'),
  m('vigil_tsdb_storage_blocks_bytes', 'gauge', 'vigil', 'Bytes of persisted blocks'),
  m('vigil_tsdb_wal_storage_size_bytes', 'gauge', 'vigil', 'Bytes of the write-ahead log'),
  m('vigil_tsdb_head_samples_appended_total', 'counter', 'vigil', 'Samples appended'),
  m('vigil_tsdb_samples_rejected_total', 'counter', 'vigil', 'Samples rejected (out of order, duplicate)'),
  m('vigil_tsdb_compactions_total', 'counter', 'vigil', 'Compactions run'),
  m('vigil_tsdb_wal_corruptions_total', 'counter', 'vigil', 'WAL corruptions found on replay'),
  // src/collectors
  m('vigil_scrapes_total', 'counter', 'vigil', 'Scrapes by job and result'),
  m('vigil_scrape_samples_ingested_total', 'counter', 'vigil', 'Samples written by scrapes, by job'),
  m('vigil_scrape_duration_seconds', 'histogram', 'vigil', 'Scrape duration by job'),
  m('vigil_scrape_targets', 'gauge', 'vigil', 'Active scrape targets by job'),
  // src/logs
  m('vigil_logs_queued_events', 'gauge', 'vigil', 'Events in the in-memory queue'),
  m('vigil_logs_spool_bytes', 'gauge', 'vigil', 'Undelivered bytes in the disk spool'),
  m('vigil_logs_spooled_events_total', 'counter', 'vigil', 'Events written to the disk spool'),
  m('vigil_logs_shipped_events_total', 'counter', 'vigil', 'Events delivered to the sink'),
  m('vigil_logs_retried_events_total', 'counter', 'vigil', 'Event deliveries retried'),
  m('vigil_logs_dropped_events_total', 'counter', 'vigil', 'Events dropped, by reason'),
  m('vigil_logs_dead_lettered_events_total', 'counter', 'vigil', 'Events sent to the dead-letter index'),
  m('vigil_logs_received_events_total', 'counter', 'vigil', 'Events received, by source (http, faro, self)'),
  m('vigil_logs_bulk_duration_seconds', 'histogram', 'vigil', 'Bulk request duration by outcome'),
  // src/jobs (scheduler figures, and pg_backup's own under the vigil_backup_ prefix)
  m('vigil_job_info', 'gauge', 'vigil', 'Configured jobs by job_name and kind'),
  m('vigil_job_runs_total', 'counter', 'vigil', 'Job runs by job_name'),
  m('vigil_job_failures_total', 'counter', 'vigil', 'Failed job runs by job_name'),
  m('vigil_job_consecutive_failures', 'gauge', 'vigil', 'Failures since the last success'),
  m('vigil_job_duration_seconds', 'histogram', 'vigil', 'Job run duration'),
  m('vigil_job_running', 'gauge', 'vigil', '1 while a job runs'),
  m('vigil_job_last_run_timestamp_seconds', 'gauge', 'vigil', 'Time of the last run'),
  m('vigil_job_last_success_timestamp_seconds', 'gauge', 'vigil', 'Time of the last successful run'),
  m('vigil_job_first_seen_timestamp_seconds', 'gauge', 'vigil', 'When the job was first scheduled'),
  m('vigil_backup_size_bytes', 'gauge', 'vigil', 'Size of the last backup file'),
  m('vigil_backup_previous_size_bytes', 'gauge', 'vigil', 'Size of the backup before it'),
  m('vigil_backup_verified', 'gauge', 'vigil', '1 if the last backup was verified'),
  m('vigil_backup_last_success_timestamp_seconds', 'gauge', 'vigil', 'Time of the last verified backup'),
  m('vigil_backup_files', 'gauge', 'vigil', 'Backup files kept'),
  m('vigil_retention_deleted_files', 'gauge', 'vigil', 'Files the last retention run deleted'),
  m('vigil_retention_deleted_indices', 'gauge', 'vigil', 'Indices the last retention run deleted'),
  m('vigil_digest_alerts', 'gauge', 'vigil', 'Alert episodes in the last daily digest'),
  m('vigil_digest_down_targets', 'gauge', 'vigil', 'Down targets in the last daily digest'),
];

// Documented rules that only apply where the exporter is scraped (seed-notes §4).
const EXTERNAL: MetricInfo[] = [
  m('kube_pod_container_status_restarts_total', 'counter', 'external', 'Container restarts (kube-state-metrics)', 'Kubernetes with kube-state-metrics'),
];

export const CATALOGUE: readonly MetricInfo[] = [
  ...INSTRUMENTATION,
  ...PROCESS,
  ...SCRAPE,
  ...PROBE,
  ...POSTGRES,
  ...REDIS,
  ...RULES,
  ...SLO,
  ...NOTIFY,
  ...FARO,
  ...VIGIL,
  ...EXTERNAL,
];

/** The series names a metric family produces (a histogram's own name is its native form). */
export function seriesNames(info: MetricInfo): string[] {
  switch (info.type) {
    case 'histogram':
      return [info.name, `${info.name}_bucket`, `${info.name}_sum`, `${info.name}_count`];
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
