/**
 * Sharded scraping: replicas announce themselves in Redis with heartbeats, and
 * each target belongs to one live replica by rendezvous hashing over the
 * members, so a target moves only when its owner comes or goes.
 *
 * A replica that dies is noticed once its heartbeat is older than the member
 * timeout; its targets move at once (it scrapes nothing any more). A replica
 * that joins names a start time two heartbeats ahead, so every other replica
 * has seen it before then: at that time the others drop its targets, and the
 * newcomer starts them one heartbeat later. Scrapes run on a grid fixed by the
 * target (interval and offset), so a stop before the start means no grid point
 * is scraped twice.
 *
 * A replica that cannot heartbeat for half the member timeout because its
 * process stalled stops scraping before the others may take over, and comes
 * back as a newcomer, so a slow replica is never scraping beside its successor.
 * When Redis itself is unreachable for longer than the member timeout, every
 * replica scrapes every target until it returns: duplicates beat blindness.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { ShardingConfig } from '../config/discovery.js';
import type { Logger } from '../logger.js';
import { lazyRequire } from '../util/lazy-require.js';

const ioredis = lazyRequire<typeof import('ioredis')>('ioredis');

export interface Shard {
  /** Whether this replica scrapes the target now. */
  owns(targetKey: string): boolean;
  /** Called when ownership may have changed; the shard waits for a returned promise before it rejoins. */
  onChange(cb: () => void | Promise<void>): void;
  start(): Promise<void>;
  /** Stops heartbeats; `deregister` removes the member at once (graceful shutdown). */
  stop(deregister?: boolean): Promise<void>;
  /** Members counted for ownership right now (for the API and logs). */
  activeMembers(): string[];
  readonly replica: string;
}

interface Member {
  /** When the member starts owning targets (ms since epoch). */
  activeFrom: number;
  /** Last heartbeat (ms since epoch). */
  beat: number;
}

/** Rendezvous score of a member for a target. */
function score(member: string, key: string): bigint {
  return createHash('md5').update(member).update('\0').update(key).digest().readBigUInt64BE(0);
}

/** The member with the highest score owns the target; ties cannot matter in practice but break by name. */
export function rendezvousOwner(members: readonly string[], key: string): string | undefined {
  let best: string | undefined;
  let bestScore = -1n;
  for (const m of members) {
    const s = score(m, key);
    if (s > bestScore || (s === bestScore && best !== undefined && m < best)) {
      best = m;
      bestScore = s;
    }
  }
  return best;
}

export interface RedisShardOptions {
  config: ShardingConfig;
  redisUrl: string;
  logger: Logger;
  now?: () => number;
}

export class RedisShard implements Shard {
  readonly replica: string;
  private readonly redis: Redis;
  private readonly now: () => number;
  private readonly key: string;
  private members = new Map<string, Member>();
  private myActiveFrom = Infinity;
  private timer: NodeJS.Timeout | undefined;
  private changeTimer: NodeJS.Timeout | undefined;
  private readonly listeners: Array<() => void | Promise<void>> = [];
  /** Start of the last heartbeat Redis confirmed. */
  private lastOk = -Infinity;
  /** When Redis calls started failing; undefined while they succeed. */
  private redisDownSince: number | undefined;
  private snapshot: string[] = [];
  private stopped = false;

  constructor(private readonly opts: RedisShardOptions) {
    this.replica = opts.config.replica ?? `${hostname()}-${process.pid}`;
    this.now = opts.now ?? Date.now;
    this.key = `${opts.config.key_prefix}members`;
    this.redis = new (ioredis().Redis)(opts.redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
    this.redis.on('error', () => undefined);
  }

  onChange(cb: () => void | Promise<void>): void {
    this.listeners.push(cb);
  }

  async start(): Promise<void> {
    this.myActiveFrom = this.now() + 2 * this.opts.config.heartbeat_interval;
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.opts.config.heartbeat_interval);
    this.timer.unref();
    this.opts.logger.info({ replica: this.replica, activeFrom: new Date(this.myActiveFrom).toISOString() }, 'sharding: joined');
  }

  /** Heartbeat, read the membership, and notify when the active set changed. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    const now = this.now();
    if (this.selfExpired(now) && !this.degraded(now)) {
      // Out of touch long enough that the others may count us gone: make
      // sure our loops stopped, then come back as a newcomer.
      await this.checkChange();
      this.myActiveFrom = Math.max(this.myActiveFrom, now + 2 * this.opts.config.heartbeat_interval);
    }
    try {
      const me: Member = { activeFrom: this.myActiveFrom, beat: now };
      const res = await this.redis.multi().hset(this.key, this.replica, JSON.stringify(me)).hgetall(this.key).exec();
      const all = (res?.[1]?.[1] ?? {}) as Record<string, string>;
      const members = new Map<string, Member>();
      const dead: string[] = [];
      for (const [name, raw] of Object.entries(all)) {
        let m: Member;
        try {
          m = JSON.parse(raw) as Member;
        } catch {
          continue;
        }
        if (typeof m.beat !== 'number' || typeof m.activeFrom !== 'number') continue;
        if (now - m.beat > this.opts.config.member_timeout) dead.push(name);
        else members.set(name, m);
      }
      // Long-dead entries are removed so the hash does not grow with every restart.
      const forget = dead.filter((n) => now - JSON.parse(all[n]).beat > 10 * this.opts.config.member_timeout);
      if (forget.length) await this.redis.hdel(this.key, ...forget);
      this.members = members;
      this.lastOk = now;
      this.redisDownSince = undefined;
    } catch (err) {
      this.redisDownSince ??= now;
      this.opts.logger.warn({ err: (err as Error).message }, 'sharding: Redis unreachable; keeping the last membership');
    }
    await this.checkChange();
  }

  private selfExpired(now: number): boolean {
    return now - this.lastOk > this.opts.config.member_timeout / 2;
  }

  private threshold(name: string, m: Member): number {
    // The newcomer waits one heartbeat longer than the others count it, so
    // the old owners have stopped before it starts.
    return name === this.replica ? m.activeFrom + this.opts.config.heartbeat_interval : m.activeFrom;
  }

  /**
   * The members as last announced to the listeners. Ownership never uses a
   * fresher view than the one the scrape side reconciled with, or a target
   * could start under one view and never stop under the next.
   */
  activeMembers(): string[] {
    return this.snapshot;
  }

  /** Redis away longer than a member may be silent: nobody can coordinate, so each replica scrapes everything. */
  private degraded(now: number): boolean {
    return this.redisDownSince !== undefined && now - this.redisDownSince > this.opts.config.member_timeout;
  }

  private computeActive(): string[] {
    const now = this.now();
    if (this.degraded(now)) return [this.replica];
    const out: string[] = [];
    for (const [name, m] of this.members) {
      if (name === this.replica ? this.selfExpired(now) : now - m.beat > this.opts.config.member_timeout) continue;
      if (now >= this.threshold(name, m)) out.push(name);
    }
    return out.sort();
  }

  owns(targetKey: string): boolean {
    const active = this.snapshot;
    if (!active.includes(this.replica)) return false;
    return rendezvousOwner(active, targetKey) === this.replica;
  }

  private async checkChange(): Promise<void> {
    const active = this.computeActive();
    let applied: Promise<unknown> = Promise.resolve();
    if (active.join(',') !== this.snapshot.join(',')) {
      this.snapshot = active;
      this.opts.logger.info({ replica: this.replica, members: active.join(',') }, 'sharding: membership changed');
      applied = Promise.all(this.listeners.map((cb) => cb()));
    }
    // Wake up exactly at the next scheduled join or expiry instead of up to a heartbeat late.
    const now = this.now();
    let next = Infinity;
    for (const [name, m] of this.members) {
      const t = this.threshold(name, m);
      if (t > now) next = Math.min(next, t);
      next = Math.min(next, name === this.replica ? this.lastOk + this.opts.config.member_timeout / 2 + 1 : m.beat + this.opts.config.member_timeout + 1);
    }
    clearTimeout(this.changeTimer);
    if (next !== Infinity && !this.stopped) {
      this.changeTimer = setTimeout(() => void this.checkChange(), Math.max(0, next - now));
      this.changeTimer.unref();
    }
    await applied;
  }

  async stop(deregister = true): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.changeTimer);
    if (deregister) await this.redis.hdel(this.key, this.replica).catch(() => undefined);
    this.redis.disconnect();
  }
}
