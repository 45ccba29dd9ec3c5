import type { ParsedSample } from './exposition.js';

/** What one scrape of a target collects: /metrics over HTTP, a probe, a database. */
export interface ScrapeSource {
  /** Collects one scrape's samples; rejects on failure (the loop also aborts it on timeout). */
  collect(signal: AbortSignal, timeoutMs: number): Promise<ParsedSample[]>;
  /**
   * Samples still written when a scrape fails, like an exporter's own `pg_up 0`
   * next to Prometheus's `up 0`.
   */
  failureSamples?(): ParsedSample[];
  /** Releases connections when the loop stops. */
  close?(): Promise<void>;
}
