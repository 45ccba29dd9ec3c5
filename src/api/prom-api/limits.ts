/** Bounds on what one API request may cost. Prometheus's defaults where it has one. */
export interface PromApiLimits {
  /** Samples one query may hold in memory (Prometheus: --query.max-samples, 50M; lower here for a 512 MiB pod). */
  maxSamples: number;
  /** Query timeout; a request's `timeout` parameter can only shorten it (Prometheus: 2m). */
  timeoutMs: number;
  /** Points per series of a range query (Prometheus: 11,000). */
  maxPoints: number;
  /** Characters of query text. */
  maxQueryLength: number;
  /** Bracket nesting depth of query text; deeper queries would exhaust the stack. */
  maxNesting: number;
  /** Queries evaluated at once; more wait in line (Prometheus: --query.max-concurrency, 20). */
  maxConcurrent: number;
  /** Requests waiting for a query slot before new ones get 503. */
  maxQueued: number;
  /** Series, label names or values one metadata request returns when it sets no `limit`. */
  maxMetadataResults: number;
}

export const DEFAULT_PROM_API_LIMITS: PromApiLimits = {
  maxSamples: 5_000_000,
  timeoutMs: 120_000,
  maxPoints: 11_000,
  maxQueryLength: 256 * 1024,
  maxNesting: 200,
  maxConcurrent: 20,
  maxQueued: 200,
  maxMetadataResults: 100_000,
};
