import { Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import { CellCounter, CellHistogram, type CounterCell } from './cells.js';

/** Buckets of `db_query_duration_seconds`, as the planning API's documents fix them. */
export const DB_QUERY_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5];

/** Buckets of `http_request_duration_seconds`: prom-client's defaults, which the dashboards assume. */
export const REQUEST_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The planning API's metric contract (names, types, labels and buckets are
 * relied on by the alert rules and dashboards).
 */
export class ApiMetrics {
  /** `http_requests_total{method,endpoint,status}`: series are cells the request hooks add to. */
  readonly requests: CellCounter;
  /** `http_request_duration_seconds{method,endpoint}`. */
  readonly duration: CellHistogram;
  readonly active: Gauge;
  /** Requests in flight; read into `active_connections` when scraped, so requests only add and subtract. */
  inFlight = 0;
  readonly dbQuery: Histogram<'operation' | 'table'>;
  /** `cache_hits_total{cache_type}`: route code counts on the request path, so these are cells too. */
  readonly cacheHits: CellCounter;
  readonly cacheMisses: CellCounter;
  readonly businessEvents: CellCounter;
  /** Series by label values, found once per value: a Map lookup per call instead of hashing a label object. */
  private readonly hitCells = new Map<string, CounterCell>();
  private readonly missCells = new Map<string, CounterCell>();
  private readonly eventCells = new Map<string, Map<string, CounterCell>>();

  constructor(readonly registry: Registry, opts: { defaultMetrics?: boolean } = {}) {
    const registers = [registry];
    this.requests = new CellCounter({ name: 'http_requests_total', help: 'HTTP requests by method, route pattern and status code.', registers });
    this.duration = new CellHistogram({ name: 'http_request_duration_seconds', help: 'HTTP request duration by method and route pattern.', buckets: REQUEST_DURATION_BUCKETS, registers });
    const active: Gauge = new Gauge({ name: 'active_connections', help: 'HTTP requests in flight.', registers, collect: () => active.set(this.inFlight) });
    this.active = active;
    this.dbQuery = new Histogram({ name: 'db_query_duration_seconds', help: 'Database query duration by operation and table.', labelNames: ['operation', 'table'], buckets: DB_QUERY_BUCKETS, registers });
    this.cacheHits = new CellCounter({ name: 'cache_hits_total', help: 'Cache hits by cache type.', registers });
    this.cacheMisses = new CellCounter({ name: 'cache_misses_total', help: 'Cache misses by cache type.', registers });
    this.businessEvents = new CellCounter({ name: 'business_events_total', help: 'Business events by type and outcome.', registers });
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
    let c = this.hitCells.get(cacheType);
    if (!c) this.hitCells.set(cacheType, (c = this.cacheHits.cell({ cache_type: cacheType })));
    c.value++;
  }

  cacheMiss(cacheType: string): void {
    let c = this.missCells.get(cacheType);
    if (!c) this.missCells.set(cacheType, (c = this.cacheMisses.cell({ cache_type: cacheType })));
    c.value++;
  }

  businessEvent(eventType: string, status: 'success' | 'failure' | string): void {
    let byStatus = this.eventCells.get(eventType);
    if (!byStatus) this.eventCells.set(eventType, (byStatus = new Map()));
    let c = byStatus.get(status);
    if (!c) byStatus.set(status, (c = this.businessEvents.cell({ event_type: eventType, status })));
    c.value++;
  }
}
