import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';

/** Buckets of `db_query_duration_seconds`, as the planning API's documents fix them. */
export const DB_QUERY_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5];

/**
 * The planning API's metric contract (names, types, labels and buckets are
 * relied on by the alert rules and dashboards).
 */
export class ApiMetrics {
  readonly requests: Counter<'method' | 'endpoint' | 'status'>;
  readonly duration: Histogram<'method' | 'endpoint'>;
  readonly active: Gauge;
  readonly dbQuery: Histogram<'operation' | 'table'>;
  readonly cacheHits: Counter<'cache_type'>;
  readonly cacheMisses: Counter<'cache_type'>;
  readonly businessEvents: Counter<'event_type' | 'status'>;

  constructor(readonly registry: Registry, opts: { defaultMetrics?: boolean } = {}) {
    const registers = [registry];
    this.requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests by method, route pattern and status code.', labelNames: ['method', 'endpoint', 'status'], registers });
    this.duration = new Histogram({ name: 'http_request_duration_seconds', help: 'HTTP request duration by method and route pattern.', labelNames: ['method', 'endpoint'], registers });
    this.active = new Gauge({ name: 'active_connections', help: 'HTTP requests in flight.', registers });
    this.dbQuery = new Histogram({ name: 'db_query_duration_seconds', help: 'Database query duration by operation and table.', labelNames: ['operation', 'table'], buckets: DB_QUERY_BUCKETS, registers });
    this.cacheHits = new Counter({ name: 'cache_hits_total', help: 'Cache hits by cache type.', labelNames: ['cache_type'], registers });
    this.cacheMisses = new Counter({ name: 'cache_misses_total', help: 'Cache misses by cache type.', labelNames: ['cache_type'], registers });
    this.businessEvents = new Counter({ name: 'business_events_total', help: 'Business events by type and outcome.', labelNames: ['event_type', 'status'], registers });
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  }

  /** Times `fn` as one database query; failures are timed too. */
  async timeDbQuery<T>(operation: string, table: string, fn: () => Promise<T>): Promise<T> {
    const end = this.dbQuery.startTimer({ operation, table });
    try {
      return await fn();
    } finally {
      end();
    }
  }

  cacheHit(cacheType: string): void {
    this.cacheHits.inc({ cache_type: cacheType });
  }

  cacheMiss(cacheType: string): void {
    this.cacheMisses.inc({ cache_type: cacheType });
  }

  businessEvent(eventType: string, status: 'success' | 'failure' | string): void {
    this.businessEvents.inc({ event_type: eventType, status });
  }
}
