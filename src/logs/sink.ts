import type { LogEvent } from './event.js';

/** Where shipped events end up: Elasticsearch, or the local NDJSON file. */
export interface Sink {
  readonly name: string;
  /** One-time setup (templates, directories); failures here must not stop Vigil. */
  start(): Promise<void>;
  /**
   * Delivers a batch. Resolves with the events to try again (per-item 429/5xx);
   * rejects when the whole request failed (all events are retried).
   */
  send(events: LogEvent[]): Promise<LogEvent[]>;
  close(): Promise<void>;
}
