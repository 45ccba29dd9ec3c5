import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { createServer, parseListen } from './api/server.js';
import { createSelfRegistry } from './api/self-metrics.js';
import type { Component } from './component.js';
import type { LoadedConfig } from './config/index.js';
import { createLogger, type Logger } from './logger.js';
import { MemoryStorage } from './tsdb/memory.js';
import type { Storage } from './tsdb/types.js';

export interface StartOptions {
  logger?: Logger;
  /** Handle SIGTERM/SIGINT (shutdown) and SIGHUP (reload). The CLI does; tests do not. */
  handleSignals?: boolean;
  /** Override the listen address (tests use 127.0.0.1:0). */
  listen?: string;
}

export interface Vigil {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly storage: Storage;
  readonly registry: Registry;
  readonly logger: Logger;
  stop(): Promise<void>;
  /** Resolves once Vigil has stopped. */
  readonly closed: Promise<void>;
}

/**
 * Wires every part from the config. This is the only place that reads the
 * config as a whole; each part gets its own section and the interfaces it needs.
 */
export async function startVigil(loaded: LoadedConfig, opts: StartOptions = {}): Promise<Vigil> {
  const { config } = loaded;
  const logger = opts.logger ?? createLogger();
  const registry = createSelfRegistry();
  let ready = false;

  const storage: Storage = new MemoryStorage();
  const components: Component[] = [];

  const app = createServer({ logger, registry, bodyLimit: config.server.body_limit, isReady: () => ready });

  const { host, port } = parseListen(opts.listen ?? config.server.listen);
  await app.listen({ host, port });
  const addr = app.server.address();
  const url = typeof addr === 'object' && addr ? `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` : `http://${host}:${port}`;

  for (const c of components) await c.start();
  ready = true;
  logger.info({ url, config: loaded.file }, 'Vigil started');

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      ready = false;
      for (const c of [...components].reverse()) {
        try {
          await c.stop();
        } catch (err) {
          logger.error({ err, component: c.name }, 'error while stopping');
        }
      }
      await app.close();
      await storage.close();
      logger.info('Vigil stopped');
      resolveClosed();
    })();
    return stopping;
  };

  if (opts.handleSignals) {
    const onSignal = (sig: string) => {
      logger.info({ signal: sig }, 'shutting down');
      void stop();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  return { url, app, storage, registry, logger, stop, closed };
}
