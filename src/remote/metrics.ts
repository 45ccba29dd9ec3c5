import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Self metrics under Prometheus's own remote-storage names and labels
 * (`remote_name`, `url`), so dashboards and alerts written for Prometheus's
 * remote write (the mixin's PrometheusRemoteStorageFailures and friends) apply.
 */
export class RemoteWriteMetrics {
  readonly samplesTotal: Counter<'remote_name' | 'url'>;
  readonly samplesFailed: Counter<'remote_name' | 'url'>;
  readonly samplesRetried: Counter<'remote_name' | 'url'>;
  readonly samplesDropped: Counter<'remote_name' | 'url'>;
  readonly samplesPending: Gauge<'remote_name' | 'url'>;
  readonly bytesTotal: Counter<'remote_name' | 'url'>;
  readonly metadataTotal: Counter<'remote_name' | 'url'>;
  readonly metadataFailed: Counter<'remote_name' | 'url'>;
  readonly metadataRetried: Counter<'remote_name' | 'url'>;
  readonly metadataBytes: Counter<'remote_name' | 'url'>;
  readonly batchDuration: Histogram<'remote_name' | 'url'>;
  readonly shards: Gauge<'remote_name' | 'url'>;
  readonly shardsMin: Gauge<'remote_name' | 'url'>;
  readonly shardsMax: Gauge<'remote_name' | 'url'>;
  readonly shardsDesired: Gauge<'remote_name' | 'url'>;
  readonly shardCapacity: Gauge<'remote_name' | 'url'>;
  readonly maxSamplesPerSend: Gauge<'remote_name' | 'url'>;
  readonly highestSent: Gauge<'remote_name' | 'url'>;
  readonly highestRead: Gauge<'remote_name' | 'url'>;
  readonly walSkipped: Counter<'remote_name' | 'url'>;
  readonly samplesIn: Counter;
  readonly highestTimestamp: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ['remote_name', 'url'] as ('remote_name' | 'url')[];
    const c = (name: string, help: string) => new Counter({ name, help, labelNames, registers });
    const g = (name: string, help: string) => new Gauge({ name, help, labelNames, registers });
    this.samplesTotal = c('prometheus_remote_storage_samples_total', 'Total number of samples sent to remote storage.');
    this.samplesFailed = c('prometheus_remote_storage_samples_failed_total', 'Total number of samples which failed on send to remote storage, non-recoverable errors.');
    this.samplesRetried = c('prometheus_remote_storage_samples_retried_total', 'Total number of samples which failed on send to remote storage but were retried because the send error was recoverable.');
    this.samplesDropped = c('prometheus_remote_storage_samples_dropped_total', 'Total number of samples which were dropped after being read from the WAL before being sent via remote write, either via relabelling or age limit.');
    this.samplesPending = g('prometheus_remote_storage_samples_pending', 'The number of samples pending in the queues shards to be sent to the remote storage.');
    this.bytesTotal = c('prometheus_remote_storage_bytes_total', 'The total number of bytes of data (not metadata) sent by the queue after compression.');
    this.metadataTotal = c('prometheus_remote_storage_metadata_total', 'Total number of metadata entries sent to remote storage.');
    this.metadataFailed = c('prometheus_remote_storage_metadata_failed_total', 'Total number of metadata entries which failed on send to remote storage, non-recoverable errors.');
    this.metadataRetried = c('prometheus_remote_storage_metadata_retried_total', 'Total number of metadata entries which failed on send to remote storage but were retried because the send error was recoverable.');
    this.metadataBytes = c('prometheus_remote_storage_metadata_bytes_total', 'The total number of bytes of metadata sent by the queue after compression.');
    this.batchDuration = new Histogram({
      name: 'prometheus_remote_storage_sent_batch_duration_seconds',
      help: 'Duration of send calls to the remote storage.',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 120, 300],
      registers,
    });
    this.shards = g('prometheus_remote_storage_shards', 'The number of shards used for parallel sending to the remote storage.');
    this.shardsMin = g('prometheus_remote_storage_shards_min', 'The minimum number of shards that the queue is allowed to run.');
    this.shardsMax = g('prometheus_remote_storage_shards_max', 'The maximum number of shards that the queue is allowed to run.');
    this.shardsDesired = g('prometheus_remote_storage_shards_desired', 'The number of shards that the queues shard calculation wants to run based on the rate of samples in vs. samples out.');
    this.shardCapacity = g('prometheus_remote_storage_shard_capacity', 'The capacity of each shard of the queue used for parallel sending to the remote storage.');
    this.maxSamplesPerSend = g('prometheus_remote_storage_max_samples_per_send', 'The maximum number of samples to be sent, in a single request, to the remote storage.');
    this.highestSent = g('prometheus_remote_storage_queue_highest_sent_timestamp_seconds', 'Timestamp from a WAL sample, the highest timestamp successfully sent by this queue, in seconds since epoch.');
    this.highestRead = g('vigil_remote_storage_queue_highest_read_timestamp_seconds', 'Highest sample timestamp read from the WAL by this queue, in seconds since epoch.');
    this.walSkipped = c('vigil_remote_storage_wal_skipped_total', 'Times the queue skipped WAL data it could not read (damaged records, segments deleted before they were read).');
    this.samplesIn = new Counter({ name: 'prometheus_remote_storage_samples_in_total', help: 'Samples read from the WAL into remote storage.', registers });
    this.highestTimestamp = new Gauge({
      name: 'prometheus_remote_storage_highest_timestamp_in_seconds',
      help: 'Highest timestamp that has come into the remote storage via the WAL, in seconds since epoch.',
      registers,
    });
  }
}
