import { join, resolve } from 'node:path';
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
import { loadValidatedConfig } from './config-check.js';
import { resolveAlertingPaths } from './config/alerting.js';
import { ConfigError, type LoadedConfig, type VigilConfig } from './config/index.js';
import { planReload } from './reload-plan.js';
import { alertmanagerApiVersion, prometheusApiVersion, VIGIL_VERSION } from './version.js';
import { createDiscovery, createShard, type Discovery } from './discovery/index.js';
import { formatDuration } from './model/duration.js';
import { labelsKey } from './model/labels.js';
import { createJobs, type JobScheduler } from './jobs/index.js';
import { createLogger, flushLogLimits, type Logger } from './logger.js';
import { stopComponents } from './shutdown.js';
import { createLogPipeline, type LogPipeline } from './logs/index.js';
import { createEngine } from './promql/index.js';
import { PromQLError, type QueryEngine } from './promql/types.js';
import { createBackendEngine, createRemoteWrite, federateRoute, type RemoteWrite } from './remote/index.js';
import { engineForStateSource } from './remote/for-state.js';
import { resolveRuleFiles } from './alerts/rules/files.js';
import { openTsdb } from './tsdb/index.js';
import type { Storage } from './tsdb/types.js';

export interface StartOptions {
  logger?: Logger;
  /** Handle SIGTERM/SIGINT (shutdown) and SIGHUP (reload). The CLI does; tests do not. */
  handleSignals?: boolean;
  /** Override the listen address (tests use 127.0.0.1:0). */
  listen?: string;
  /** Runs once everything has started, just before Vigil reports ready (the CLI tidies the heap here). */
  beforeReady?: () => void;
}

export interface Vigil {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly storage: Storage;
  readonly engine: QueryEngine;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly collectors: Collectors;
  readonly discovery: Discovery;
  readonly rules: RuleManager;
  readonly notifier?: Notifier;
  readonly jobs: JobScheduler;
  readonly logs: LogPipeline;
  readonly remoteWrite: RemoteWrite;
  /**
   * Re-reads the config file and rule files and applies every change, or
   * applies none: on an invalid file, or when a changed setting needs a restart
   * (named in the errors).
   */
  reload(): Promise<{ ok: boolean; errors: string[]; applied?: string[]; warnings?: string[] }>;
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

/** The query engine of an agent without query_backend: config validation keeps rules off it. */
const noLocalQueries: QueryEngine = {
  instantQuery: () => Promise.reject(new PromQLError('execution', 'storage.mode is agent: no local query store; configure query_backend')),
  rangeQuery: () => Promise.reject(new PromQLError('execution', 'storage.mode is agent: no local query store; configure query_backend')),
};

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
  // Before anything opens: an unreadable tls_config file fails the start with nothing to close.
  const backend = config.query_backend ? createBackendEngine({ config: config.query_backend, registry }) : undefined;
  // The log pipeline reports its own trouble to stdout only, so a failing
  // Elasticsearch cannot feed its errors back into the queue it drains.
  const plainLogger = opts.logger ?? createLogger();
  const logs = createLogPipeline({ config: config.logs, dataDir, registry, logger: plainLogger, storage: { appender: () => storage.appender() } });
  const logger = opts.logger ?? createLogger({ destination: logs.destination(process.stdout) });
  let ready = false;

  const agent = config.storage.mode === 'agent';
  const storage = await openTsdb({
    dir: dataDir,
    retentionMs: config.storage.retention,
    // An agent keeps only the WAL, until every remote-write queue has sent it.
    walOnly: agent,
    walFlushIntervalMs: config.storage.wal_flush_interval,
    checkpointIntervalMs: config.storage.checkpoint_interval,
    retentionBytes: config.storage.retention_size,
    maxSeries: config.storage.max_series,
    decodedCacheBytes: config.storage.chunk_cache_size,
    registry,
    logger: logger.child({ component: 'tsdb' }),
  });
  const localEngine = createEngine(storage);
  const engine: QueryEngine = backend ?? (agent ? noLocalQueries : localEngine);
  const holder: { collectors?: Collectors; discovery?: Discovery } = {};
  const metadata = new MetadataStore();
  const remoteWrite = createRemoteWrite({
    configs: config.remote_write,
    // Metadata of the targets scraped now, as Prometheus sends it.
    metadata: () => {
      const live = new Set((holder.collectors?.targets() ?? []).map((t) => labelsKey(t.labels)));
      return metadata.byMetric((l) => live.has(labelsKey(l)));
    },
    dataDir,
    registry,
    logger: logger.child({ component: 'remote-write' }),
    externalLabels: config.global.external_labels,
    store: storage,
  });

  const { host, port } = parseListen(opts.listen ?? config.server.listen);
  const externalUrl = config.server.external_url ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;

  const sinks: AlertSink[] = [];
  let notifier: Notifier | undefined;
  if (hasNotifications(config)) {
    notifier = createNotifier({
      config: resolveAlertingPaths(config.alerting!, baseDir),
      dataDir,
      registry,
      logger: logger.child({ component: 'notify' }),
      externalUrl,
      dashboardUrl: config.grafana.url,
    });
    sinks.push(notifier);
  }
  const forwarders = (c: VigilConfig): AlertSink[] =>
    (c.alerting?.alertmanagers ?? []).map((am) => createAlertmanagerSink({ url: am.url, authorization: am.authorization, timeoutMs: am.timeout, logger }));
  let forwarding = forwarders(config);
  sinks.push(...forwarding);
  if (sinks.length === 0) logger.warn('no notification receivers configured (alerting.config_file): alerts are evaluated and visible in the API only');

  const localRuleFiles = new Set(config.query_backend ? resolveRuleFiles(config.query_backend.local_rule_files, baseDir).files : []);
  const slos = new SloRuleSource(config.slo_files, baseDir);
  const rules = createRuleManager({
    files: config.rule_files,
    baseDir,
    generatedGroups: () => slos.load(),
    engine,
    engineFor: localRuleFiles.size ? (file) => (localRuleFiles.has(file) ? localEngine : engine) : undefined,
    forStateSource: backend ? engineForStateSource(backend) : undefined,
    storage,
    sink: fanOut(sinks, logger),
    registry,
    logger: logger.child({ component: 'rules' }),
    evaluationIntervalMs: config.global.evaluation_interval,
    externalLabels: config.global.external_labels,
    externalUrl,
    stateFile: join(dataDir, 'rules', 'alerts.json'),
  });
  const jobs = createJobs({ jobs: config.jobs, baseDir, dataDir, engine, registry, logger, notice: notifier ? (r, n) => notifier!.notice(r, n) : undefined });

  const app = createServer({ logger, registry, bodyLimit: config.server.body_limit, isReady: () => ready, token: () => config.server.token });
  // /federate reads the embedded store only; an agent has none to offer.
  await app.register(federateRoute({ storage: agent ? undefined : storage, externalLabels: config.global.external_labels }));
  const exemplars = new ExemplarStore();
  const reload = async (): Promise<{ ok: boolean; errors: string[]; applied?: string[]; warnings?: string[] }> => {
    let next: LoadedConfig;
    try {
      next = await loadValidatedConfig(loaded.file, {}, 'run');
    } catch (err) {
      const errors = err instanceof ConfigError ? err.issues.map((i) => `${loaded.file}: ${i.line ? `line ${i.line}: ` : ''}${i.path ? `${i.path}: ` : ''}${i.message}`) : [String(err)];
      logger.error({ file: loaded.file, errors }, 'reload rejected: invalid configuration, the running configuration stays in force');
      return { ok: false, errors };
    }
    const plan = planReload(config, next.config);
    if (plan.needsRestart.length) {
      const errors = [`${loaded.file}: reload refused, nothing applied: ${plan.needsRestart.join(', ')} changed and needs a restart of Vigil`];
      logger.error({ needsRestart: plan.needsRestart }, 'reload refused: changed settings need a restart');
      return { ok: false, errors };
    }
    rules.reconfigure({ evaluationIntervalMs: next.config.global.evaluation_interval, externalLabels: next.config.global.external_labels });
    slos.setPatterns(next.config.slo_files);
    const r = await rules.reload(next.config.rule_files);
    if (!r.ok) {
      logger.error({ errors: r.errors }, 'reload rejected: invalid rule files, the running rules stay in force');
      return r;
    }
    config = next.config;
    // The token is read per request: from here the old one is refused. Browser sessions signed in with it end too.
    if (plan.changed.includes('server.token')) app.sessions.clear();
    await holder.collectors?.reload(config);
    await holder.discovery?.reload(config.scrape_configs);
    if (notifier && hasNotifications(config)) await notifier.reload(resolveAlertingPaths(config.alerting!, baseDir));
    if (plan.changed.includes('alerting.alertmanagers')) {
      for (const f of forwarding) sinks.splice(sinks.indexOf(f), 1);
      forwarding = forwarders(config);
      sinks.push(...forwarding);
    }
    logger.info({ changed: plan.changed }, 'configuration reloaded');
    return { ok: true, errors: [], applied: plan.changed, ...(r.warnings ? { warnings: r.warnings } : {}) };
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
    buildInfo: { version: prometheusApiVersion, revision: `vigil-${VIGIL_VERSION}` },
    alertmanagerVersion: alertmanagerApiVersion,
    targets: { externalUrl: config.server.external_url, listenPort: String(port) },
    token: () => config.server.token,
    secureCookie: externalUrl.startsWith('https:'),
    reload,
  });

  await app.listen({ host, port });
  const addr = app.server.address();
  const url =
    typeof addr === 'object' && addr
      ? `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address}:${addr.port}`
      : `http://${host}:${port}`;
  const shard = createShard(config.sharding, config.alerting?.redis_url, logger);
  await shard?.start();
  const scrapes = createCollectors({ config, storage, registry, logger: logger.child({ component: 'collectors' }), selfUrl: url, shard, maxSeries: config.storage.max_series, observer: scrapeObserver(metadata, exemplars) });
  holder.collectors = scrapes;
  const discovery = createDiscovery({ pools: config.scrape_configs, baseDir, logger, sink: () => holder.collectors });
  holder.discovery = discovery;

  // Discovery starts after the collectors so its first targets have somewhere to go.
  const components: Component[] = [remoteWrite, logs, ...(notifier ? [notifier] : []), rules, scrapes, discovery, jobs];
  const started: Component[] = [];
  try {
    for (const c of components) {
      await c.start();
      started.push(c);
    }
  } catch (err) {
    for (const c of started.reverse()) await c.stop().catch(() => undefined);
    await shard?.stop(true);
    await app.close();
    backend?.close();
    await storage.close();
    throw err;
  }
  opts.beforeReady?.();
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
      await stopComponents(components, { timeoutMs: config.server.shutdown_timeout, logger });
      // Leaves the shard only once its loops stopped, so no target is scraped twice.
      await shard?.stop(true);
      // Requests still open (long queries, slow clients) do not hold the exit.
      app.server.closeAllConnections();
      await app.close();
      // After the rules and the API, its last users: their queries are done or cut.
      backend?.close();
      await storage.close();
      logger.info('Vigil stopped');
      flushLogLimits(logger);
      flushLogLimits(plainLogger);
      resolveClosed();
    })();
    return stopping;
  };

  if (opts.handleSignals) {
    const onStop = () => {
      logger.info({ deadlineSeconds: config.server.shutdown_timeout / 1000 }, 'shutting down');
      // The last resort: whatever still runs past the deadline does not keep the process alive.
      setTimeout(() => {
        logger.error('shutdown deadline passed; exiting now');
        process.exit(1);
      }, config.server.shutdown_timeout + 1_000).unref();
      void stop().then(() => process.exit(process.exitCode ?? 0));
    };
    const onHup = () => void reload();
    signalHandlers.push(['SIGTERM', onStop], ['SIGINT', onStop], ['SIGHUP', onHup]);
    for (const [sig, fn] of signalHandlers) process.on(sig, fn);
  }

  return { url, app, storage, engine, registry, logger, collectors: scrapes, discovery, rules, notifier, jobs, logs, remoteWrite, reload, stop, closed };
}
