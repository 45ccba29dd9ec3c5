/** A long-running part of Vigil that src/main.ts starts and stops in order. */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  /**
   * Stops work and flushes state; called in reverse start order on shutdown.
   * With a deadline (Unix ms), stops waiting for outside parties (receivers,
   * Elasticsearch) by then and persists what is left locally before resolving.
   */
  stop(deadline?: number): Promise<void>;
  /**
   * Shutdown has begun: stop starting work that waits on outside parties, at
   * once and without waiting. Called on every component before the first is
   * stopped, so work queued behind the others' stops does not pile up meanwhile.
   */
  halt?(): void;
}
