import { createHash } from 'node:crypto';

/**
 * One log event on its way to a sink. The document is serialised once at
 * intake: queue, spool and bulk body all carry the same string.
 */
export interface LogEvent {
  /** Deterministic document _id: re-sending the same event cannot store it twice. */
  readonly id: string;
  /** The ECS document as JSON. */
  readonly json: string;
  /** Called once the event is shipped or durably spooled (file intake commits offsets on it). */
  ack?: () => void;
}

/** A short, stable id from the parts that identify an event's origin. */
export function eventId(...parts: Array<string | number>): string {
  const h = createHash('sha1');
  for (const p of parts) {
    h.update(String(p));
    h.update('\0');
  }
  return h.digest('base64url');
}

/** Anything that accepts events: the pipeline's queue. */
export interface EventSink {
  push(events: LogEvent[]): void;
}
