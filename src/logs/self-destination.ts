import { Writable } from 'node:stream';
import { lineToEcsJson } from './ecs.js';
import { eventId, type LogEvent } from './event.js';

export interface SelfDestinationOptions {
  push(events: LogEvent[]): void;
  /** Also write the lines here (stdout by default), so the console keeps its output. */
  tee?: NodeJS.WritableStream | null;
  service?: string;
}

/**
 * A pino destination for Vigil's own logs: every line goes to the pipeline as
 * an ECS document (and still to stdout). Ids are unique per process run.
 */
export function createSelfDestination(o: SelfDestinationOptions): Writable {
  const run = `${process.pid}-${Date.now()}`;
  const ctx = { service: o.service ?? 'vigil', dataset: 'vigil' };
  const tee = o.tee === undefined ? process.stdout : o.tee;
  let seq = 0;
  let partial = '';
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _enc, cb) {
      const text = partial + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      tee?.write(chunk);
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      if (partial.length > 1024 * 1024) partial = '';
      const events: LogEvent[] = [];
      for (const line of lines) {
        if (line) events.push({ id: eventId('self', run, seq++), json: lineToEcsJson(line, ctx) });
      }
      // The pipeline must never take the logger down with it.
      try {
        o.push(events);
      } catch {
        /* counted by the queue */
      }
      cb();
    },
  });
}
