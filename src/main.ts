import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { createAlertmanagerSink, createNotifier, type Notifier } from './alerts/notify/index.js';
import { createRuleManager, type RuleManager } from './alerts/rules/index.js';
import { SloRuleSource } from './alerts/slo/index.js';
import type { Alert, AlertSink } from './alerts/types.js';
import { ExemplarStore } from './api/exemplar-store.js';
import { MetadataStore } from './api/metadata-store.js';
import { mountRoutes } from './api/routes.js';
import { scrapeObserver } from './api/scrape-observer.js';
import { createSelfRegistry } from './api/self-metrics.js';
import { createServer, parseListen } from './api/server.js';
import { createCollectors, type Collectors } from './collectors/index.js';
import type { Component } from './component.js';
import { ConfigError, loadConfig, type LoadedConfig, type VigilConfig } from './config/index.js';
import { formatDuration } from './config/duration.js';
import { createJobs, type JobScheduler } from './jobs/index.js';
import { createLogger, type Logger } from './logger.js';
import { createLogPipeline, type LogPipeline } from './logs/index.js';
import { createEngine } from './promql/index.js';
import type { QueryEngine } from './promql/types.js';
import { openTsdb } from './tsdb/index.js';
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
  readonly engine: QueryEngine;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly collectors: Collectors;
  readonly rules: RuleManager;
  readonly notifier?: Notifier;
  readonly jobs: JobScheduler;
  readonly logs: LogPipeline;
  /** Re-reads the config file and rule files; keeps the running ones on error. */
  reload(): Promise<{ ok: boolean; errors: string[] }>;
  stop(): Promise<void>;
  /** Resolves once Vigil has stopped. */
  readonly closed: Promise<void>;
}

/** Sends alerts to every sink; one failing sink does not stop the others. */
function fanOut(sinks: AlertSink[], logger: Logger): AlertSink {
  return {
    async send(alerts: readonly Alert[]) {
      const results = await Promise.allSettled(sinks.map((s) => s.send(alerts)));
      for (const r of results) if (r.status === 'rejected') logger.error({ err: String(r.reason) }, 'sending alerts failed');
    },
  };
}

function hasNotifications(config: VigilConfig): boolean {
  return !!(config.alerting && (config.alerting.config_file || config.alerting.config));
}

/**
 * Wires every part from the config. This is the only place that reads the
 * config as a whole; each part gets its own section and the interfaces it needs.
 */
export async function startVigil(loaded: LoadedConfig, opts: StartOptions = {}): Promise<Vigil> {
  let { config } = loaded;
  const baseDir = loaded.baseDir;
  const dataDir = resolve(baseDir, config.storage.path);
  const registry = createSelfRegistry();
  // The log pipeline reports its own trouble to stdout only, so a failing
  // Elasticsearch cannot feed its errors back into the queue it drains.
  const plainLogger = opts.logger ?? createLogger();
  const logs = createLogPipeline({ config: config.logs, dataDir, registry, logger: plainLogger, storage: { appender: () => storage.appender() } });
  const logger = opts.logger ?? createLogger({ destination: logs.destination(process.stdout) });
  let ready = false;

  const storage = await openTsdb({
    dir: dataDir,
    retentionMs: config.storage.retention,
    walFlushIntervalMs: config.storage.wal_flush_interval,
    registry,
    logger: logger.child({ component: 'tsdb' }),
  });
  const engine = createEngine(storage);

  const { host, port } = parseListen(opts.listen ?? config.server.listen);
  const externalUrl = config.server.external_url ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;

  const sinks: AlertSink[] = [];
  let notifier: Notifier | undefined;
  if (hasNotifications(config)) {
    notifier = createNotifier({ config: config.alerting!, dataDir, registry, logger: logger.child({ component: 'notify' }), externalUrl });
    sinks.push(notifier);
  }
  for (const am of config.alerting?.alertmanagers ?? []) {
    sinks.push(createAlertmanagerSink({ url: am.url, authorization: am.authorization, timeoutMs: am.timeout, logger }));
  }
  if (sinks.length === 0) logger.warn('no notification receivers configured (alerting.config_file): alerts are evaluated and visible in the API only');

  const slos = new SloRuleSource(config.slo_files, baseDir);
  const rules = createRuleManager({
    files: config.rule_files,
    baseDir,
    generatedGroups: () => slos.load(),
    engine,
    storage,
    sink: fanOut(sinks, logger),
    registry,
    logger: logger.child({ component: 'rules' }),
    evaluationIntervalMs: config.global.evaluation_interval,
    externalLabels: config.global.external_labels,
    externalUrl,
  });
  const jobs = createJobs({ jobs: config.jobs, baseDir, dataDir, engine, registry, logger });

  const app = createServer({ logger, registry, bodyLimit: config.server.body_limit, isReady: () => ready, token: config.server.token });
  const holder: { collectors?: Collectors } = {};
  const metadata = new MetadataStore();
  const exemplars = new ExemplarStore();
  const reload = async (): Promise<{ ok: boolean; errors: string[] }> => {
    let next: LoadedConfig;
    try {
      next = loadConfig(loaded.file);
    } catch (err) {
      const errors = err instanceof ConfigError ? err.issues.map((i) => `${loaded.file}: ${i.line ? `line ${i.line}: ` : ''}${i.path}: ${i.message}`) : [String(err)];
      logger.error({ file: loaded.file, errors }, 'reload rejected: invalid configuration, the running configuration stays in force');
      return { ok: false, errors };
    }
    slos.setPatterns(next.config.slo_files);
    const r = await rules.reload(next.config.rule_files);
    if (!r.ok) {
      logger.error({ errors: r.errors }, 'reload rejected: invalid rule files, the running rules stay in force');
      return r;
    }
    config = next.config;
    await holder.collectors?.reload(config);
    if (notifier && hasNotifications(config)) await notifier.reload(config.alerting!);
    logger.info('configuration reloaded');
    return { ok: true, errors: [] };
  };
  await mountRoutes(app, {
    engine,
    storage,
    rules,
    notifier,
    jobs,
    logs,
    collectors: () => holder.collectors,
    metadata,
    exemplars,
    status: { config: () => config, retention: formatDuration(config.storage.retention), flags: () => ({ 'config.file': loaded.file, 'storage.path': dataDir, 'web.listen-address': opts.listen ?? config.server.listen, 'web.external-url': externalUrl }) },
    authRequired: !!config.server.token,
    token: config.server.token,
    secureCookie: externalUrl.startsWith('https:'),
    reload,
  });

  await app.listen({ host, port });
  const addr = app.server.address();
  const url =
    typeof addr === 'object' && addr
      ? `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address}:${addr.port}`
      : `http://${host}:${port}`;
  const scrapes = createCollectors({ config, storage, registry, logger: logger.child({ component: 'collectors' }), selfUrl: url, hooks: scrapeObserver(metadata, exemplars) });
  holder.collectors = scrapes;

  const components: Component[] = [logs, ...(notifier ? [notifier] : []), rules, scrapes, jobs];
  const started: Component[] = [];
  try {
    for (const c of components) {
      await c.start();
      started.push(c);
    }
  } catch (err) {
    for (const c of started.reverse()) await c.stop().catch(() => undefined);
    await app.close();
    await storage.close();
    throw err;
  }
  ready = true;
  logger.info({ url, config: loaded.file, data: dataDir }, 'Vigil started');

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let stopping: Promise<void> | undefined;
  const signalHandlers: Array<[NodeJS.Signals, () => void]> = [];
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      ready = false;
      for (const [sig, fn] of signalHandlers) process.off(sig, fn);
      // Scrapes and rules stop first; notifications and logs flush last.
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
    const onStop = () => {
      logger.info('shutting down');
      void stop();
    };
    const onHup = () => void reload();
    signalHandlers.push(['SIGTERM', onStop], ['SIGINT', onStop], ['SIGHUP', onHup]);
    for (const [sig, fn] of signalHandlers) process.on(sig, fn);
  }

  return { url, app, storage, engine, registry, logger, collectors: scrapes, rules, notifier, jobs, logs, reload, stop, closed };
}
