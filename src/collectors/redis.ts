/**
 * Redis collector from `INFO`, with redis_exporter's metric and label names
 * (redis_up, redis_connected_clients, redis_memory_used_bytes,
 * redis_keyspace_hits_total, redis_instance_info{role,...}, ...). The scrape loop
 * adds `up{job="redis"}`.
 */
import type { Redis } from 'ioredis';
import type { RedisCollectorConfig } from '../config/collectors.js';
import type { Logger } from '../logger.js';
import type { ParsedSample } from './exposition.js';
import type { ScrapeSource } from './source.js';
import { lazyRequire } from '../util/lazy-require.js';

const ioredis = lazyRequire<typeof import('ioredis')>('ioredis');

/** INFO field -> exporter metric name. */
const INFO_METRICS: Record<string, string> = {
  connected_clients: 'redis_connected_clients',
  blocked_clients: 'redis_blocked_clients',
  used_memory: 'redis_memory_used_bytes',
  maxmemory: 'redis_memory_max_bytes',
  mem_fragmentation_ratio: 'redis_mem_fragmentation_ratio',
  keyspace_hits: 'redis_keyspace_hits_total',
  keyspace_misses: 'redis_keyspace_misses_total',
  evicted_keys: 'redis_evicted_keys_total',
  expired_keys: 'redis_expired_keys_total',
  total_commands_processed: 'redis_commands_processed_total',
  total_connections_received: 'redis_connections_received_total',
  rejected_connections: 'redis_rejected_connections_total',
  total_net_input_bytes: 'redis_net_input_bytes_total',
  total_net_output_bytes: 'redis_net_output_bytes_total',
  uptime_in_seconds: 'redis_uptime_in_seconds',
  connected_slaves: 'redis_connected_slaves',
  master_repl_offset: 'redis_master_repl_offset',
  repl_backlog_size: 'redis_replication_backlog_bytes',
};

/** Labels of redis_instance_info, as the exporter publishes them. */
const INSTANCE_INFO_FIELDS = ['maxmemory_policy', 'os', 'process_id', 'redis_build_id', 'redis_mode', 'redis_version', 'role', 'run_id', 'tcp_port'];

export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (!l || l.startsWith('#')) continue;
    const i = l.indexOf(':');
    if (i > 0) fields.set(l.slice(0, i), l.slice(i + 1));
  }
  return fields;
}

/** Samples from INFO output; pure, so it is testable without a server. */
export function infoToSamples(info: Map<string, string>): ParsedSample[] {
  const out: ParsedSample[] = [{ labels: { __name__: 'redis_up' }, value: 1 }];
  for (const [field, name] of Object.entries(INFO_METRICS)) {
    const raw = info.get(field);
    if (raw === undefined) continue;
    const v = Number(raw);
    if (Number.isFinite(v)) out.push({ labels: { __name__: name }, value: v });
  }
  const infoLabels: Record<string, string> = { __name__: 'redis_instance_info' };
  for (const f of INSTANCE_INFO_FIELDS) infoLabels[f] = info.get(f) ?? '';
  // A replica's role is "slave" in INFO, as in the exporter's label.
  out.push({ labels: infoLabels, value: 1 });
  for (const [field, raw] of info) {
    // Keyspace lines: db0:keys=1,expires=0,avg_ttl=0
    if (!/^db\d+$/.test(field)) continue;
    const kv = new Map(raw.split(',').map((p) => p.split('=') as [string, string]));
    out.push({ labels: { __name__: 'redis_db_keys', db: field }, value: Number(kv.get('keys') ?? 0) });
    out.push({ labels: { __name__: 'redis_db_keys_expiring', db: field }, value: Number(kv.get('expires') ?? 0) });
  }
  if (info.get('role') === 'slave') {
    out.push({ labels: { __name__: 'redis_master_link_up' }, value: info.get('master_link_status') === 'up' ? 1 : 0 });
    const ago = Number(info.get('master_last_io_seconds_ago'));
    if (Number.isFinite(ago) && ago >= 0) out.push({ labels: { __name__: 'redis_master_last_io_seconds_ago' }, value: ago });
  }
  return out;
}

export class RedisSource implements ScrapeSource {
  private client: Redis | undefined;

  constructor(
    private readonly cfg: RedisCollectorConfig & { url: string },
    private readonly logger: Logger,
  ) {}

  private clientFor(timeoutMs: number): Redis {
    if (this.client) return this.client;
    const client = new (ioredis().Redis)(this.cfg.url, {
      lazyConnect: true,
      // Shorter than the scrape timeout so an unreachable server is reported as redis_up 0 in time.
      connectTimeout: Math.max(1, Math.floor(timeoutMs * 0.8)),
      commandTimeout: Math.max(1, Math.floor(timeoutMs * 0.8)),
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      // Reconnecting is the next scrape's job, so `up` reflects each attempt.
      retryStrategy: () => null,
      connectionName: 'vigil',
    });
    client.on('error', (err: Error) => this.logger.debug({ err: err.message }, 'redis connection error'));
    this.client = client;
    return client;
  }

  private reset(): void {
    const c = this.client;
    this.client = undefined;
    c?.disconnect();
  }

  async collect(signal: AbortSignal, timeoutMs: number): Promise<ParsedSample[]> {
    const onAbort = () => this.reset();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const client = this.clientFor(timeoutMs);
      if (client.status === 'wait') await client.connect();
      else if (client.status !== 'ready') {
        this.reset();
        const fresh = this.clientFor(timeoutMs);
        await fresh.connect();
      }
      const info = await this.clientFor(timeoutMs).info('all');
      return infoToSamples(parseInfo(info));
    } catch (err) {
      this.reset();
      // As redis_exporter: `up` stays 1 (the collector ran) and `redis_up 0` says
      // Redis did not answer; only overrunning the scrape timeout fails the scrape.
      if (!signal.aborted) {
        this.logger.debug({ err: (err as Error).message }, 'redis unreachable');
        return this.failureSamples();
      }
      throw new Error(`redis unreachable within ${timeoutMs}ms`);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  failureSamples(): ParsedSample[] {
    return [{ labels: { __name__: 'redis_up' }, value: 0 }];
  }

  async close(): Promise<void> {
    this.reset();
  }
}

/** host:port of a Redis URL without credentials. */
export function redisInstance(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '6379'}`;
  } catch {
    return 'unknown';
  }
}
