import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Vigil's own metrics about scraping, on the registry it is given. */
export class CollectorMetrics {
  private readonly scrapes: Counter<'job' | 'result'>;
  private readonly samples: Counter<'job'>;
  private readonly duration: Histogram<'job'>;
  readonly targets: Gauge<'job'>;
  readonly seriesCapReached: Counter<'job'>;

  constructor(registry: Registry) {
    this.scrapes = getOrCreate(registry, 'vigil_scrapes_total', () => new Counter({ name: 'vigil_scrapes_total', help: 'Scrapes run, by job and result (success or failure).', labelNames: ['job', 'result'], registers: [registry] }));
    this.samples = getOrCreate(registry, 'vigil_scrape_samples_ingested_total', () => new Counter({ name: 'vigil_scrape_samples_ingested_total', help: 'Samples written to storage by scrapes (after metric relabeling).', labelNames: ['job'], registers: [registry] }));
    this.duration = getOrCreate(registry, 'vigil_scrape_duration_seconds', () => new Histogram({ name: 'vigil_scrape_duration_seconds', help: 'Duration of scrapes.', labelNames: ['job'], buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30], registers: [registry] }));
    this.seriesCapReached = getOrCreate(registry, 'vigil_head_series_limit_reached_total', () => new Counter({ name: 'vigil_head_series_limit_reached_total', help: 'Scrapes refused because their new series would take the head past its series limit, by job.', labelNames: ['job'], registers: [registry] }));
    this.targets = getOrCreate(registry, 'vigil_scrape_targets', () => new Gauge({ name: 'vigil_scrape_targets', help: 'Active scrape targets by job.', labelNames: ['job'], registers: [registry] }));
  }

  observe(job: string, ok: boolean, seconds: number, samples: number): void {
    this.scrapes.inc({ job, result: ok ? 'success' : 'failure' });
    if (ok) this.samples.inc({ job }, samples);
    this.duration.observe({ job }, seconds);
  }
}

/** Two collector sets on one registry (tests, reload) share the metric objects. */
function getOrCreate<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}
