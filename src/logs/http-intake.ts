import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../api/errors.js';
import { toEcsJson } from './ecs.js';
import { eventId, type LogEvent } from './event.js';
import { BadPayload, jsonDepth } from './json-guard.js';

export interface HttpIntakeOptions {
  bodyLimit: number;
  maxLines: number;
  maxDepth?: number;
  queue: { push(events: LogEvent[]): void; accepting(): boolean };
  onAccepted?: (n: number) => void;
  /** How long a request waits for its events to be shipped or spooled before answering 503 (default 10 s). */
  ackTimeoutMs?: number;
}

/** Resolves true once the batch's last event is acknowledged (everything before it is then too), false on timeout. */
function durable(events: LogEvent[], timeoutMs: number): Promise<boolean> {
  if (events.length === 0) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    events[events.length - 1].ack = () => {
      clearTimeout(timer);
      resolve(true);
    };
  });
}

interface LineError {
  line: number;
  error: string;
}

/** Body parsers that hand the raw text to the route (depth-checked per record there). */
export function addTextParsers(app: FastifyInstance, types: string[], bodyLimit: number): void {
  for (const t of types) {
    if (app.hasContentTypeParser(t)) app.removeContentTypeParser(t);
    app.addContentTypeParser(t, { parseAs: 'string', bodyLimit }, (_req, body, done) => done(null, body));
  }
}

/**
 * Splits a batch into records: a JSON array (or single object), or NDJSON.
 * Bad records are reported by 1-based line (NDJSON) or element index (array)
 * while the good ones are still accepted.
 */
export function splitBatch(body: string, maxLines: number, maxDepth: number): { records: Array<{ n: number; rec: Record<string, unknown>; raw: string }>; errors: LineError[] } {
  const records: Array<{ n: number; rec: Record<string, unknown>; raw: string }> = [];
  const errors: LineError[] = [];
  const trimmed = body.trimStart();
  const take = (n: number, v: unknown, raw: string) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) errors.push({ line: n, error: `expected a JSON object, got ${Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v}` });
    else records.push({ n, rec: v as Record<string, unknown>, raw });
  };
  if (trimmed.startsWith('[')) {
    if (jsonDepth(trimmed, maxDepth + 1) > maxDepth + 1) throw new BadPayload(`JSON nested deeper than ${maxDepth} levels`);
    let arr: unknown;
    try {
      arr = JSON.parse(trimmed);
    } catch (err) {
      throw new BadPayload(`invalid JSON array: ${(err as Error).message}`);
    }
    if (!Array.isArray(arr)) throw new BadPayload('expected a JSON array');
    if (arr.length > maxLines) throw new BadPayload(`batch has ${arr.length} records, limit is ${maxLines}`, 413);
    arr.forEach((v, i) => take(i + 1, v, JSON.stringify(v)));
    return { records, errors };
  }
  const lines = body.split('\n');
  if (lines.length > maxLines + 1) throw new BadPayload(`batch has more than ${maxLines} lines`, 413);
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    if (jsonDepth(line, maxDepth) > maxDepth) {
      errors.push({ line: i + 1, error: `JSON nested deeper than ${maxDepth} levels` });
      return;
    }
    try {
      take(i + 1, JSON.parse(line), line);
    } catch (err) {
      errors.push({ line: i + 1, error: `invalid JSON: ${(err as Error).message}` });
    }
  });
  return { records, errors };
}

/** Media types POST /api/v1/logs accepts; each is handed to the handler as text. */
export const HTTP_INTAKE_TYPES = ['application/json', 'application/x-ndjson', 'application/ndjson', 'text/plain'];

export interface HttpIntake {
  readonly bodyLimit: number;
  /** Handles one POST /api/v1/logs (route declared in src/api/logs-routes.ts). */
  handle(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply>;
}

/** JSON array or NDJSON batches of log records in the API's layout. */
export function createHttpIntake(o: HttpIntakeOptions): HttpIntake {
  const maxDepth = o.maxDepth ?? 32;
  return {
    bodyLimit: o.bodyLimit,
    async handle(req, reply) {
      if (typeof req.body !== 'string' || req.body.length === 0) {
        return sendError(reply, 400, 'bad_data', 'empty body: send a JSON array or NDJSON lines');
      }
      if (!o.queue.accepting()) {
        return sendError(reply.header('retry-after', '10'), 503, 'unavailable', 'log queue and spool are full');
      }
      let split;
      try {
        split = splitBatch(req.body, o.maxLines, maxDepth);
      } catch (err) {
        const e = err as BadPayload;
        return sendError(reply, e.statusCode ?? 400, 'bad_data', e.message);
      }
      // The same batch re-posted by a retrying client maps to the same _ids.
      const batchId = eventId(req.body);
      const events: LogEvent[] = split.records.map(({ n, rec, raw }) => ({
        id: eventId('http', batchId, n),
        json: toEcsJson(rec, raw, { service: typeof rec.service === 'string' ? rec.service : 'unknown' }),
      }));
      // Answer only once the events are shipped or fsync'd to the spool: a 200 survives a SIGKILL.
      const stored = durable(events, o.ackTimeoutMs ?? 10_000);
      o.queue.push(events);
      if (!(await stored)) {
        // Still queued and shipped later; the client's retry maps to the same _ids, so nothing is stored twice.
        return sendError(reply.header('retry-after', '5'), 503, 'unavailable', 'events are queued but not yet shipped or spooled; retry the same batch (it is stored once)');
      }
      o.onAccepted?.(events.length);
      const counts = { accepted: events.length, rejected: split.errors.length, errors: split.errors.slice(0, 100) };
      if (events.length === 0) return sendError(reply, 400, 'bad_data', 'no valid records in the batch', counts);
      return reply.code(200).send({ status: 'success', ...counts });
    },
  };
}
