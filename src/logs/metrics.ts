import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface LogMetrics {
  queued: Gauge;
  spoolBytes: Gauge;
  spooled: Counter;
  shipped: Counter;
  retried: Counter;
  dropped: Counter<'reason'>;
  deadLettered: Counter;
  bulkLatency: Histogram<'outcome'>;
  received: Counter<'source'>;
}

/** The pipeline's self-metrics, registered on the registry it is given. */
export function createLogMetrics(registry: Registry): LogMetrics {
  const registers = [registry];
  return {
    queued: new Gauge({ name: 'vigil_logs_queued_events', help: 'Events in the in-memory queue.', registers }),
    spoolBytes: new Gauge({ name: 'vigil_logs_spool_bytes', help: 'Undelivered bytes in the disk spool.', registers }),
    spooled: new Counter({ name: 'vigil_logs_spooled_events_total', help: 'Events written to the disk spool.', registers }),
    shipped: new Counter({ name: 'vigil_logs_shipped_events_total', help: 'Events delivered to the sink.', registers }),
    retried: new Counter({ name: 'vigil_logs_retried_events_total', help: 'Event deliveries retried.', registers }),
    dropped: new Counter({
      name: 'vigil_logs_dropped_events_total',
      help: 'Events given up on, by reason.',
      labelNames: ['reason'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'vigil_logs_dead_lettered_events_total',
      help: 'Events rejected by the mapping and stored in the dead-letter index.',
      registers,
    }),
    bulkLatency: new Histogram({
      name: 'vigil_logs_bulk_duration_seconds',
      help: 'Bulk request latency.',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    received: new Counter({
      name: 'vigil_logs_received_events_total',
      help: 'Events accepted by an intake.',
      labelNames: ['source'],
      registers,
    }),
  };
}
