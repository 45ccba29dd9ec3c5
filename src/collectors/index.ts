/**
 * The collectors component: one scrape loop per target of `scrape_configs`, per
 * health check, and per PostgreSQL / Redis block, all writing through the
 * storage's appender. `reload` diffs the targets so unchanged ones keep their
 * loop (and staleness state), changed ones are updated in place, removed ones
 * end with staleness markers.
 */
import type { Registry } from 'prom-client';
import type { Component } from '../component.js';
import type { CollectorsConfig } from '../config/collectors.js';
import type { Logger } from '../logger.js';
import { labelsKey } from '../tsdb/matchers.js';
import type { Labels, Storage } from '../tsdb/types.js';
import { HealthProbeSource } from './health-probe.js';
import { PostgresSource, serverOf } from './postgres.js';
import { RedisSource, redisInstance } from './redis.js';
import { ScrapeLoop, type LoopSettings } from './scrape-loop.js';
import { buildScrapeTargets, HttpScrapeSource, intervalsFor, type GlobalDefaults } from './scrape-targets.js';
import { CollectorMetrics } from './self-metrics.js';
import type { ScrapeSource } from './source.js';
import type { ParseResult } from './exposition.js';

export { parseExposition, ExpositionParser, ExpositionError, type ParsedSample, type ParseResult } from './exposition.js';
export type { CollectorsConfig } from '../config/collectors.js';

export interface CollectorsOptions {
  config: CollectorsConfig;
  storage: Storage;
  registry: Registry;
  logger: Logger;
  /**
   * Vigil's own URL as bound (e.g. after listening on port 0). Scrape configs with
   * job_name `vigil` scrape it instead of their static targets; without such a
   * job, one is added.
   */
  selfUrl?: string;
  /** Called with each HTTP target's parsed scrape (metadata and exemplars for the API). */
  hooks?: { onParsed?(target: { key: string; labels: Labels }, result: ParseResult, body: string, openMetrics: boolean): void };
}

export interface TargetStatus {
  labels: Labels;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  lastScrape: number;
  scrapeIntervalMs: number;
}

export interface Collectors extends Component {
  reload(config: CollectorsConfig): Promise<void>;
  targets(): TargetStatus[];
  /** Runs one scrape of every target now (tests, `vigil` one-shot commands). */
  scrapeAll(): Promise<void>;
}

interface LoopSpec {
  key: string;
  url: string;
  settings: LoopSettings;
  /** Changes when the source must be rebuilt (URL, auth, TLS, DSN). */
  sourceSig: string;
  makeSource(): ScrapeSource;
}

const SELF_JOB = 'vigil';

function plainSettings(targetLabels: Labels, intervalMs: number, timeoutMs: number): LoopSettings {
  return {
    targetLabels,
    intervalMs,
    timeoutMs,
    honorLabels: false,
    honorTimestamps: true,
    metricRelabel: [],
    sampleLimit: 0,
    labelLimit: 0,
    labelNameLengthLimit: 0,
    labelValueLengthLimit: 0,
  };
}

function withSelf(config: CollectorsConfig, selfUrl: string | undefined): CollectorsConfig {
  if (!selfUrl) return config;
  const u = new URL(selfUrl);
  const address = u.host;
  const existing = config.scrape_configs.find((c) => c.job_name === SELF_JOB);
  const scrape_configs = existing
    ? config.scrape_configs.map((c) =>
        c.job_name === SELF_JOB ? { ...c, targets: undefined, static_configs: [{ targets: [address], labels: c.static_configs[0]?.labels ?? {} }] } : c,
      )
    : [
        ...config.scrape_configs,
        {
          job_name: SELF_JOB,
          metrics_path: '/metrics',
          scheme: u.protocol === 'https:' ? ('https' as const) : ('http' as const),
          params: {},
          honor_labels: false,
          honor_timestamps: true,
          static_configs: [{ targets: [address], labels: {} }],
          relabel_configs: [],
          metric_relabel_configs: [],
          sample_limit: 0,
          label_limit: 0,
          label_name_length_limit: 0,
          label_value_length_limit: 0,
          target_limit: 0,
          follow_redirects: true,
        },
      ];
  return { ...config, scrape_configs };
}

export function buildLoopSpecs(config: CollectorsConfig, logger: Logger, hooks?: CollectorsOptions['hooks']): { specs: LoopSpec[]; errors: string[] } {
  const g: GlobalDefaults = config.global;
  const specs: LoopSpec[] = [];
  const errors: string[] = [];
  for (const sc of config.scrape_configs) {
    const r = buildScrapeTargets(sc, g);
    errors.push(...r.errors);
    for (const t of r.targets) {
      specs.push({
        key: t.key,
        url: t.url,
        settings: t.settings,
        sourceSig: JSON.stringify([t.url, t.bodyLimit, sc.basic_auth, sc.authorization, sc.tls_config, sc.follow_redirects]),
        makeSource: () => new HttpScrapeSource(t.url, sc, t.bodyLimit, hooks?.onParsed && ((r, body, om) => hooks.onParsed?.({ key: t.key, labels: t.settings.targetLabels }, r, body, om))),
      });
    }
  }
  for (const hc of config.health_checks) {
    const { intervalMs, timeoutMs } = intervalsFor(hc, g);
    const labels: Labels = { ...hc.labels, job: hc.job_name, instance: hc.labels.instance ?? hc.url };
    specs.push({
      key: `health|${hc.url}|${labelsKey(labels)}`,
      url: hc.url,
      settings: plainSettings(labels, intervalMs, timeoutMs),
      sourceSig: JSON.stringify(hc),
      makeSource: () => new HealthProbeSource(hc, logger.child({ component: 'health-probe' })),
    });
  }
  for (const pc of config.postgres) {
    if (!pc.dsn) continue;
    const dsn = pc.dsn;
    const { intervalMs, timeoutMs } = intervalsFor(pc, g);
    const labels: Labels = { ...pc.labels, job: pc.job_name, instance: pc.instance ?? serverOf(dsn) };
    specs.push({
      key: `postgres|${labelsKey(labels)}`,
      url: `postgres://${serverOf(dsn)}`,
      settings: plainSettings(labels, intervalMs, timeoutMs),
      sourceSig: JSON.stringify([dsn, timeoutMs]),
      makeSource: () => new PostgresSource({ ...pc, dsn }, logger.child({ component: 'postgres-collector' })),
    });
  }
  for (const rc of config.redis) {
    if (!rc.url) continue;
    const url = rc.url;
    const { intervalMs, timeoutMs } = intervalsFor(rc, g);
    const labels: Labels = { ...rc.labels, job: rc.job_name, instance: rc.instance ?? redisInstance(url) };
    specs.push({
      key: `redis|${labelsKey(labels)}`,
      url: `redis://${redisInstance(url)}`,
      settings: plainSettings(labels, intervalMs, timeoutMs),
      sourceSig: JSON.stringify([url, timeoutMs]),
      makeSource: () => new RedisSource({ ...rc, url }, logger.child({ component: 'redis-collector' })),
    });
  }
  return { specs, errors };
}

interface Running {
  loop: ScrapeLoop;
  spec: LoopSpec;
}

export function createCollectors(opts: CollectorsOptions): Collectors {
  const logger = opts.logger.child({ component: 'collectors' });
  const metrics = new CollectorMetrics(opts.registry);
  const loops = new Map<string, Running>();
  let started = false;

  const apply = async (config: CollectorsConfig): Promise<void> => {
    const { specs, errors } = buildLoopSpecs(withSelf(config, opts.selfUrl), logger, opts.hooks);
    for (const e of errors) logger.warn(e);
    const next = new Map(specs.map((s) => [s.key, s]));
    const removed: Running[] = [];
    for (const [key, r] of loops) {
      if (!next.has(key)) {
        removed.push(r);
        loops.delete(key);
      }
    }
    for (const spec of specs) {
      const r = loops.get(spec.key);
      if (r) {
        r.loop.update(spec.settings, r.spec.sourceSig !== spec.sourceSig ? spec.makeSource() : undefined);
        r.spec = spec;
      } else {
        const loop = new ScrapeLoop(spec.key, spec.settings, spec.makeSource(), opts.storage, logger, metrics);
        loops.set(spec.key, { loop, spec });
        if (started) loop.start();
      }
    }
    // Targets that went away end their series now, as in Prometheus.
    await Promise.all(removed.map((r) => r.loop.stop(true)));
    metrics.targets.reset();
    for (const { spec } of loops.values()) metrics.targets.inc({ job: spec.settings.targetLabels.job ?? '' });
  };

  let applying = apply(opts.config);

  return {
    name: 'collectors',
    async start() {
      await applying;
      started = true;
      for (const { loop } of loops.values()) loop.start();
      logger.info({ targets: loops.size }, 'collectors started');
    },
    async stop() {
      started = false;
      await applying;
      // Shutdown writes no staleness markers (as Prometheus): the data ends anyway.
      await Promise.all([...loops.values()].map((r) => r.loop.stop(false)));
      loops.clear();
    },
    async reload(config) {
      await applying;
      applying = apply(config);
      await applying;
      logger.info({ targets: loops.size }, 'collectors reloaded');
    },
    targets() {
      return [...loops.values()].map(({ loop, spec }) => ({
        labels: loop.targetLabels,
        scrapeUrl: spec.url,
        health: loop.lastHealth,
        lastError: loop.lastError,
        lastScrape: loop.lastScrapeTime,
        scrapeIntervalMs: loop.interval,
      }));
    },
    async scrapeAll() {
      await applying;
      await Promise.all([...loops.values()].map((r) => r.loop.scrapeOnce()));
    },
  };
}
