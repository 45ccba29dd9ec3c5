/**
 * The discovery component: runs the providers of every scrape pool and hands
 * each pool's groups to the scrape side, which owns the loops. Sharding
 * between replicas is created here too, since it decides which discovered
 * targets this replica keeps.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Component } from '../component.js';
import type { ShardingConfig } from '../config/discovery.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { FileDiscoverer } from './file.js';
import { DiscoveryManager, hasDiscovery, type PoolConfig, type ProviderStatus } from './manager.js';
import { RedisShard, type Shard } from './shard.js';
import type { TargetGroup } from './types.js';

export type { TargetGroup, Discoverer } from './types.js';
export type { Shard } from './shard.js';
export { DiscoveryManager, type PoolConfig } from './manager.js';
export { staticGroups } from './static.js';

/** Where discovered groups go (the collectors). */
export interface TargetSink {
  setDiscoveredGroups(pool: string, groups: TargetGroup[]): Promise<void>;
}

export interface DiscoveryOptions {
  pools: readonly PoolConfig[];
  baseDir: string;
  logger: Logger;
  sink: () => TargetSink | undefined;
  updateIntervalMs?: number;
}

export interface Discovery extends Component {
  reload(pools: readonly PoolConfig[]): Promise<void>;
  status(): ProviderStatus[];
  /** Refresh every provider and send now (tests, one-shot commands). */
  refreshAll(): Promise<void>;
  /** A pool's groups as discovered now, sent or not yet (tests, status). */
  groups(pool: string): TargetGroup[];
}

export function createDiscovery(opts: DiscoveryOptions): Discovery {
  const logger = opts.logger.child({ component: 'discovery' });
  const manager = new DiscoveryManager({
    logger,
    baseDir: opts.baseDir,
    updateIntervalMs: opts.updateIntervalMs,
    onUpdate: (pool, groups) => {
      const sink = opts.sink();
      if (!sink) return;
      return sink.setDiscoveredGroups(pool, groups).catch((err: unknown) => logger.error({ err, pool }, 'applying discovered targets failed'));
    },
  });
  let pools = opts.pools;
  return {
    name: 'discovery',
    async start() {
      await manager.apply(pools);
      logger.info({ providers: manager.status().length }, 'discovery started');
    },
    async stop() {
      await manager.stop();
    },
    async reload(next) {
      pools = next;
      await manager.apply(next);
    },
    status: () => manager.status(),
    refreshAll: () => manager.refreshAll(),
    groups: (pool) => manager.groups(pool),
  };
}

export function anyDiscovery(pools: readonly PoolConfig[]): boolean {
  return pools.some(hasDiscovery);
}

/** The shard for `sharding:`; Redis from the section or from `alerting.redis_url`. */
export function createShard(config: ShardingConfig | undefined, fallbackRedisUrl: string | undefined, logger: Logger): Shard | undefined {
  if (!config) return undefined;
  const url = config.redis_url ?? fallbackRedisUrl;
  if (!url) throw new Error('sharding: needs redis_url (or alerting.redis_url)');
  return new RedisShard({ config, redisUrl: url, logger: logger.child({ component: 'sharding' }) });
}

/**
 * What `vigil check config` checks beyond the schema, as promtool does: the
 * file_sd target files that exist now (with file and line) and the kubeconfig
 * files named.
 */
export async function checkDiscoveryFiles(pools: readonly PoolConfig[], baseDir: string): Promise<string[]> {
  const problems: string[] = [];
  for (const p of pools) {
    for (const cfg of p.file_sd_configs) {
      const d = new FileDiscoverer(cfg, { logger: silentLogger(), baseDir, reportError: () => undefined });
      for (const e of await d.check()) problems.push(`scrape_configs "${p.job_name}": file_sd_configs: ${e}`);
    }
    p.kubernetes_sd_configs.forEach((k, i) => {
      if (!k.kubeconfig_file) return;
      const path = isAbsolute(k.kubeconfig_file) ? k.kubeconfig_file : resolve(baseDir, k.kubeconfig_file);
      if (!existsSync(path)) problems.push(`scrape_configs "${p.job_name}": kubernetes_sd_configs[${i}].kubeconfig_file: ${path} does not exist`);
    });
  }
  return problems;
}
