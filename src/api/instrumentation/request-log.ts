import { pino, destination, type Logger, type DestinationStream } from 'pino';

/**
 * JSON lines in the planning API's documented layout: `timestamp` (ISO 8601),
 * `level` (lowercase), `logger`, `caller`, `message`, `stacktrace` for errors,
 * plus per-request fields. Built on pino so the hot path stays cheap.
 */
export function createApiLogger(opts: { logger?: string; level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      messageKey: 'message',
      errorKey: 'error',
      base: { logger: opts.logger ?? 'http' },
      timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? destination({ dest: 1, sync: false }),
  );
}

/** W3C trace context from a `traceparent` header, when present and well-formed. */
export function parseTraceparent(header: string | string[] | undefined): { trace_id: string; span_id: string } | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const m = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(value.trim());
  if (!m || /^0+$/.test(m[1]) || /^0+$/.test(m[2])) return undefined;
  return { trace_id: m[1], span_id: m[2] };
}
