/**
 * Remote storage: remote write from the WAL, the external query backend, and
 * the /federate endpoint.
 */
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { MetricMetadata } from '../api/prom-api/index.js';
import type { Component } from '../component.js';
import type { RemoteWriteConfig } from '../config/remote.js';
import type { Logger } from '../logger.js';
import type { Labels } from '../tsdb/types.js';
import { tlsOptions } from '../util/tls-options.js';
import { RemoteWriteMetrics } from './metrics.js';
import { queueName, WriteQueue, type WalStore } from './queue.js';

export { WriteQueue, queueName } from './queue.js';
export { WalReader, type WalPosition, type WalSeries, type SampleSink, type SampleView } from './wal-reader.js';
export { encodeWriteBody, decodeWriteBody, type WriteRequest } from './proto.js';
export { createBackendEngine, BackendError, type BackendEngineOptions } from './backend.js';
export { federateRoute, type FederateOptions } from './federate.js';

export interface RemoteWriteOptions {
  configs: readonly RemoteWriteConfig[];
  /** The store whose WAL the queues read (segments held, writes signalled). */
  store?: WalStore;
  /** The data directory: WAL in `<dataDir>/wal`, positions in `<dataDir>/remote`. */
  dataDir: string;
  registry: Registry;
  logger: Logger;
  externalLabels: Labels;
  metadata?: () => Iterable<[string, MetricMetadata[]]>;
  pollIntervalMs?: number;
}

export interface RemoteWrite extends Component {
  readonly queues: readonly WriteQueue[];
}

export function createRemoteWrite(o: RemoteWriteOptions): RemoteWrite {
  const names = new Set<string>();
  for (const c of o.configs) {
    const n = queueName(c);
    if (names.has(n)) throw new Error(`remote_write: two entries share the name ${JSON.stringify(n)}; give each a distinct name`);
    names.add(n);
  }
  // Read before any queue exists: an unreadable file fails the start with the field named (vigil check config reports it first).
  // The paths are absolute: config loading resolved them against the config file's directory.
  const tls = o.configs.map((c, i) => tlsOptions(c.tls_config, { where: `remote_write[${i}].tls_config` }));
  const metrics = o.configs.length ? new RemoteWriteMetrics(o.registry) : undefined;
  const queues = o.configs.map(
    (config, i) =>
      new WriteQueue({
        config,
        walDir: join(o.dataDir, 'wal'),
        stateDir: join(o.dataDir, 'remote'),
        metrics: metrics!,
        logger: o.logger,
        externalLabels: o.externalLabels,
        metadata: o.metadata,
        pollIntervalMs: o.pollIntervalMs,
        store: o.store,
        tls: tls[i],
      }),
  );
  return {
    name: 'remote-write',
    queues,
    async start() {
      for (const q of queues) await q.start();
    },
    async stop() {
      await Promise.all(queues.map((q) => q.stop()));
    },
  };
}
