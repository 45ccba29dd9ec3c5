/**
 * The collectors component: one scrape loop per target of every scrape pool
 * (static targets plus the groups discovery hands in), per health check, and
 * per PostgreSQL / Redis block, all writing through the storage's appender.
 * Every change (reload, a pool's new groups, a shard membership change)
 * reconciles the wanted targets with the running loops: unchanged ones keep
 * their loop (and staleness state), changed ones are updated in place, removed
 * ones end with staleness markers.
 */
import type { Registry } from 'prom-client';
import type { Component } from '../component.js';
import type { CollectorsConfig } from '../config/collectors.js';
import type { Shard } from '../discovery/shard.js';
import { staticGroups } from '../discovery/static.js';
import type { TargetGroup } from '../discovery/types.js';
import type { Logger } from '../logger.js';
import { labelsKey } from '../model/labels.js';
import type { Labels, Storage } from '../tsdb/types.js';
import { HealthProbeSource } from './health-probe.js';
import { PostgresSource, serverOf } from './postgres.js';
import { RedisSource, redisInstance } from './redis.js';
import { InThreadSource, LocalSource, PooledSource } from './batch-sources.js';
import { ScrapeLoop, type BatchSource, type LoopSettings, type SeriesCap } from './scrape-loop.js';
import { ScrapePool, type PoolOptions } from './scrape-pool.js';
import { buildScrapeTargets, intervalsFor, type GlobalDefaults } from './scrape-targets.js';
import { CollectorMetrics } from './self-metrics.js';
import type { ScrapeObserved } from './target-scrape.js';

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
  /** Splits scrape targets between replicas; without it this replica scrapes them all. */
  shard?: Shard;
  /** Receives what scrapes observed besides samples (TYPE/HELP/UNIT, exemplars), for the API. */
  observer?: (target: { key: string; labels: Labels }, observed: ScrapeObserved) => void;
  /** Scrape worker pool settings (worker count: default one per core). */
  scrapePool?: Omit<PoolOptions, 'logger'>;
  /**
   * Cap on series in the head (`storage.max_series`; default 0 = not checked here). The store
   * refuses each series past it; checked here first, a scrape that would cross
   * it is refused whole, with a clear error and a metric, instead of stored in part.
   */
  maxSeries?: number;
}

export interface TargetStatus {
  labels: Labels;
  /** Labels before relabeling; empty for health checks and database collectors. */
  discoveredLabels: Labels;
  scrapePool: string;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  lastScrape: number;
  /** Absent before the first scrape. */
  lastScrapeDurationSeconds?: number;
  scrapeIntervalMs: number;
  scrapeTimeoutMs: number;
}

export interface DroppedTarget {
  scrapePool: string;
  discoveredLabels: Labels;
}

export interface Collectors extends Component {
  reload(config: CollectorsConfig): Promise<void>;
  /** A scrape pool's discovered target groups (complete list; replaces the previous one). */
  setDiscoveredGroups(pool: string, groups: TargetGroup[]): Promise<void>;
  targets(): TargetStatus[];
  /** Targets relabeling dropped, per pool, as Prometheus keeps them for the API. */
  droppedTargets(): DroppedTarget[];
  /** Runs one scrape of every target now (tests, `vigil` one-shot commands). */
  scrapeAll(): Promise<void>;
}

interface LoopSpec {
  key: string;
  url: string;
  pool: string;
  discoveredLabels: Labels;
  settings: LoopSettings;
  /** Changes when the source must be rebuilt (URL, auth, TLS, DSN). */
  sourceSig: string;
  makeSource(pool: ScrapePool): BatchSource;
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
          file_sd_configs: [],
          dns_sd_configs: [],
          http_sd_configs: [],
          kubernetes_sd_configs: [],
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

export interface LoopSpecs {
  specs: LoopSpec[];
  dropped: DroppedTarget[];
  errors: string[];
}

/**
 * The loops the config wants. Scrape pools take their static targets plus
 * `discovered` groups; with a shard, only the targets this replica owns.
 */
export function buildLoopSpecs(config: CollectorsConfig, logger: Logger, discovered: ReadonlyMap<string, TargetGroup[]> = new Map(), shard?: Shard): LoopSpecs {
  const g: GlobalDefaults = config.global;
  const specs: LoopSpec[] = [];
  const dropped: DroppedTarget[] = [];
  const errors: string[] = [];
  for (const sc of config.scrape_configs) {
    const groups = staticGroups(sc.targets?.length ? [...sc.static_configs, { targets: sc.targets, labels: {} }] : sc.static_configs);
    const r = buildScrapeTargets(sc, g, [...groups, ...(discovered.get(sc.job_name) ?? [])]);
    errors.push(...r.errors);
    for (const d of r.dropped) dropped.push({ scrapePool: sc.job_name, discoveredLabels: d });
    for (const t of r.targets) {
      // Vigil's own metrics are scraped by every replica: each has its own.
      if (shard && sc.job_name !== SELF_JOB && !shard.owns(t.key)) continue;
      specs.push({
        key: t.key,
        url: t.url,
        pool: sc.job_name,
        discoveredLabels: t.discoveredLabels,
        settings: t.settings,
        sourceSig: JSON.stringify([t.url, t.bodyLimit, sc.basic_auth, sc.authorization, sc.tls_config, sc.follow_redirects]),
        makeSource: (pool) => (sc.job_name === SELF_JOB ? new InThreadSource(t.url, sc, t.bodyLimit, t.settings) : new PooledSource(pool, t.key, t.url, sc, t.bodyLimit, t.settings)),
      });
    }
  }
  for (const hc of config.health_checks) {
    const { intervalMs, timeoutMs } = intervalsFor(hc, g);
    const labels: Labels = { ...hc.labels, job: hc.job_name, instance: hc.labels.instance ?? hc.url };
    specs.push({
      key: `health|${hc.url}|${labelsKey(labels)}`,
      url: hc.url,
      pool: hc.job_name,
      discoveredLabels: {},
      settings: plainSettings(labels, intervalMs, timeoutMs),
      sourceSig: JSON.stringify(hc),
      makeSource: () => new LocalSource(new HealthProbeSource(hc, logger.child({ component: 'health-probe' })), plainSettings(labels, intervalMs, timeoutMs)),
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
      pool: pc.job_name,
      discoveredLabels: {},
      settings: plainSettings(labels, intervalMs, timeoutMs),
      sourceSig: JSON.stringify([dsn, timeoutMs]),
      makeSource: () => new LocalSource(new PostgresSource({ ...pc, dsn }, logger.child({ component: 'postgres-collector' })), plainSettings(labels, intervalMs, timeoutMs)),
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
      pool: rc.job_name,
      discoveredLabels: {},
      settings: plainSettings(labels, intervalMs, timeoutMs),
      sourceSig: JSON.stringify([url, timeoutMs]),
      makeSource: () => new LocalSource(new RedisSource({ ...rc, url }, logger.child({ component: 'redis-collector' })), plainSettings(labels, intervalMs, timeoutMs)),
    });
  }
  return { specs, dropped, errors };
}

/** The head series cap as the scrape loops check it. */
function seriesCap(storage: Storage, limit: number, metrics: CollectorMetrics): SeriesCap {
  // The embedded store counts its series in O(1); stats() walks them.
  const counted = storage as Storage & { seriesCount?: () => number };
  return {
    limit,
    current: () => (typeof counted.seriesCount === 'function' ? counted.seriesCount() : storage.stats().series),
    reached: (job) => metrics.seriesCapReached.inc({ job }),
  };
}

interface Running {
  loop: ScrapeLoop;
  spec: LoopSpec;
}

export function createCollectors(opts: CollectorsOptions): Collectors {
  const logger = opts.logger.child({ component: 'collectors' });
  const metrics = new CollectorMetrics(opts.registry);
  const loops = new Map<string, Running>();
  const discovered = new Map<string, TargetGroup[]>();
  let current = opts.config;
  let dropped: DroppedTarget[] = [];
  let started = false;
  const w = opts.config.scrape_workers;
  const fromConfig = w ? { workers: w.count, nice: w.nice, heapMb: Math.floor(w.heap_limit / (1024 * 1024)) } : {};
  const pool = new ScrapePool({ ...fromConfig, ...opts.scrapePool, logger });
  const cap = seriesCap(opts.storage, opts.maxSeries ?? 0, metrics);

  const apply = async (config: CollectorsConfig): Promise<void> => {
    current = config;
    const built = buildLoopSpecs(withSelf(config, opts.selfUrl), logger, discovered, opts.shard);
    const { specs, errors } = built;
    dropped = built.dropped;
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
        r.loop.update(spec.settings, r.spec.sourceSig !== spec.sourceSig ? spec.makeSource(pool) : undefined);
        r.spec = spec;
      } else {
        const loop = new ScrapeLoop(spec.key, spec.settings, spec.makeSource(pool), opts.storage, logger, metrics, cap);
        loop.onObserved = opts.observer;
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
  /** Reconciliations run one after the other, each on the latest inputs. */
  const reapply = (): Promise<void> => {
    applying = applying.catch(() => undefined).then(() => apply(current));
    return applying;
  };
  opts.shard?.onChange(() => reapply().catch((err: unknown) => logger.error({ err }, 'reconciling targets after a shard change failed')));

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
      await pool.close();
    },
    async reload(config) {
      current = config;
      const pools = new Set(config.scrape_configs.map((c) => c.job_name));
      for (const name of discovered.keys()) if (!pools.has(name)) discovered.delete(name);
      await reapply();
      logger.info({ targets: loops.size }, 'collectors reloaded');
    },
    async setDiscoveredGroups(name, groups) {
      discovered.set(name, groups);
      await reapply();
    },
    droppedTargets() {
      return dropped;
    },
    targets() {
      return [...loops.values()].map(({ loop, spec }) => ({
        labels: loop.targetLabels,
        discoveredLabels: spec.discoveredLabels,
        scrapePool: spec.pool,
        scrapeUrl: spec.url,
        health: loop.lastHealth,
        lastError: loop.lastError,
        lastScrape: loop.lastScrapeTime,
        lastScrapeDurationSeconds: loop.lastDurationSeconds,
        scrapeIntervalMs: loop.interval,
        scrapeTimeoutMs: spec.settings.timeoutMs,
      }));
    },
    async scrapeAll() {
      await applying;
      await Promise.all([...loops.values()].map((r) => r.loop.scrapeOnce()));
    },
  };
}
