import { destination } from 'pino';

/** What the plugin logs through: a pino logger fits, and so does createApiLogger's writer. */
export interface ApiLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

interface LineSink {
  write(line: string): unknown;
}

/**
 * JSON lines in the planning API's documented layout: `timestamp` (ISO 8601),
 * `level` (lowercase), `logger`, `message`, then the request's fields
 * (`stacktrace` for errors). One line per request is on the API's hot path, so
 * lines are built as strings directly and written through a buffered stream.
 */
export function createApiLogger(opts: { logger?: string; destination?: LineSink } = {}): ApiLogger {
  const out: LineSink = opts.destination ?? destination({ dest: 1, sync: false, minLength: 4096 });
  const head = `","logger":${JSON.stringify(opts.logger ?? 'http')},"message":`;
  const line = (level: string, fields: Record<string, unknown>, message: string) => {
    let s = `{"level":"${level}","timestamp":"${new Date().toISOString()}${head}${JSON.stringify(message)}`;
    for (const key in fields) {
      const v = fields[key];
      if (v === undefined) continue;
      s += `,${JSON.stringify(key)}:${typeof v === 'number' ? (Number.isFinite(v) ? v : 'null') : JSON.stringify(v)}`;
    }
    out.write(`${s}}\n`);
  };
  return {
    info: (f, m) => line('info', f, m),
    warn: (f, m) => line('warn', f, m),
    error: (f, m) => line('error', f, m),
  };
}

/** W3C trace context from a `traceparent` header, when present and well-formed. */
export function parseTraceparent(header: string | string[] | undefined): { trace_id: string; span_id: string } | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const m = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(value.trim());
  if (!m || /^0+$/.test(m[1]) || /^0+$/.test(m[2])) return undefined;
  return { trace_id: m[1], span_id: m[2] };
}
