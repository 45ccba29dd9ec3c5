import { join, resolve } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { Component } from '../component.js';
import type { LogsConfig } from '../config/logs.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../tsdb/types.js';
import type { LogEvent } from './event.js';
import { MeasurementHistograms } from './faro/measurements.js';
import { faroRoutes } from './faro/routes.js';
import { createSourceMapResolver } from './faro/sourcemaps.js';
import { createHttpIntake, type HttpIntake } from './http-intake.js';
import { LazySink } from './lazy-sink.js';
import { LocalFileSink } from './local-file.js';
import { createLogMetrics } from './metrics.js';
import { DeliveryQueue } from './queue.js';
import { createSelfDestination } from './self-destination.js';
import type { Sink } from './sink.js';
import { DiskSpool } from './spool.js';
import { TailManager } from './tail-manager.js';
import { untilDeadline } from '../util/deadline.js';

export type { LogEvent } from './event.js';
export { createSelfDestination } from './self-destination.js';

export interface LogPipelineOptions {
  /** The parsed `logs:` section of vigil.yml. */
  config: LogsConfig;
  /** Vigil's data directory: spool, file positions and the local NDJSON file live under `<dataDir>/logs`. */
  dataDir: string;
  registry: Registry;
  logger: Logger;
  /** Faro measurements are written here as histograms. */
  storage: Pick<Storage, 'appender'>;
  /** POST /api/v1/logs answers 503 when its events are not shipped or spooled within this time (default 10 s). */
  httpAckTimeoutMs?: number;
}

export interface LogPipeline extends Component {
  /**
   * The HTTP intakes, mounted by src/api/routes.ts: POST /api/v1/logs (when
   * enabled) and the Faro receiver plugin (own API keys and CORS, when enabled).
   */
  readonly intake: { http?: HttpIntake; faro?: FastifyPluginAsync };
  /** A pino destination for Vigil's own logs (tee'd to stdout). */
  destination(tee?: NodeJS.WritableStream | null): NodeJS.WritableStream;
  /** Adds events directly (tests, other intakes). */
  push(events: LogEvent[]): void;
  /** Reads the tailed files once now (tests; the poll timer does this on its own). */
  pollFiles(): Promise<void>;
  /** Events in memory, spool bytes: for tests and the status API. */
  stats(): { memoryEvents: number; spoolBytes: number };
}

/**
 * The log pipeline: intakes (files, HTTP, Faro, Vigil's own logs) feed one
 * delivery queue with a disk spool in front of one sink (Elasticsearch when
 * configured, otherwise a rotating NDJSON file under the data directory).
 */
export function createLogPipeline(opts: LogPipelineOptions): LogPipeline {
  const cfg = opts.config;
  const logger = opts.logger.child({ component: 'logs' });
  const metrics = createLogMetrics(opts.registry);
  const base = join(opts.dataDir, 'logs');
  const es = cfg.elasticsearch;
  const sink: Sink = es
    ? new LazySink('elasticsearch', async () => new (await import('./elasticsearch.js')).ElasticsearchSink(es, metrics, logger))
    : new LocalFileSink({ path: resolve(opts.dataDir, cfg.local.path), maxSize: cfg.local.max_size, maxFiles: cfg.local.max_files });
  const spool = new DiskSpool({ dir: join(base, 'spool') });
  const queue = new DeliveryQueue({
    sink,
    spool,
    metrics,
    logger,
    maxEvents: cfg.queue.max_events,
    maxBytes: cfg.queue.max_bytes,
    spoolMaxBytes: cfg.queue.spool_max_bytes,
    batchEvents: es?.bulk_max_events ?? 5000,
    batchBytes: es?.bulk_max_bytes ?? 8 * 1024 * 1024,
    backoffInitialMs: es?.backoff_initial ?? 250,
    backoffMaxMs: es?.backoff_max ?? 30_000,
    // Called only once running, after `tails` exists.
    onRoom: () => tails.kick(),
  });
  const tails = new TailManager({
    files: cfg.files,
    stateFile: join(base, 'positions.json'),
    pollMs: cfg.poll_interval,
    maxLineBytes: cfg.max_line_bytes,
    sink: { push: (events) => queue.push(events, true), accepting: () => queue.readyForFileData() },
    logger,
  });
  const histograms = new MeasurementHistograms(opts.storage);
  const resolveFrames = cfg.faro.sourcemaps_dir ? createSourceMapResolver(cfg.faro.sourcemaps_dir, cfg.faro.sourcemaps_url_prefix, logger) : undefined;

  const intake: LogPipeline['intake'] = {
    http: cfg.http.enabled
      ? createHttpIntake({
          bodyLimit: cfg.http.body_limit,
          maxLines: cfg.http.max_lines,
          queue,
          ackTimeoutMs: opts.httpAckTimeoutMs,
          onAccepted: (n) => metrics.received.inc({ source: 'http' }, n),
        })
      : undefined,
    faro: cfg.faro.enabled
      ? faroRoutes({ config: cfg.faro, queue, histograms, logger, resolveFrames, onAccepted: (n) => metrics.received.inc({ source: 'faro' }, n) })
      : undefined,
  };

  let started = false;
  return {
    name: 'logs',
    intake,
    destination: (tee) =>
      createSelfDestination({
        push: (events) => {
          if (!cfg.self) return;
          metrics.received.inc({ source: 'self' }, events.length);
          queue.push(events);
        },
        tee,
      }),
    push: (events) => queue.push(events),
    pollFiles: () => tails.pollOnce(),
    stats: () => ({ memoryEvents: queue.memoryEvents, spoolBytes: spool.bytes }),
    async start() {
      await spool.open();
      try {
        await sink.start();
      } catch (err) {
        logger.warn({ err }, `log sink ${sink.name} setup failed; events are spooled until it works`);
      }
      queue.start();
      await tails.start();
      started = true;
      logger.info({ sink: sink.name, files: cfg.files.length }, 'log pipeline started');
    },
    async stop(deadline?: number) {
      if (!started) return;
      started = false;
      await tails.stop();
      await queue.stop(deadline);
      // Spooling the memory queue acknowledged the files' last events: persist that.
      await tails.save();
      await untilDeadline(sink.close().catch(() => undefined), deadline);
      await spool.close();
    },
  };
}
