/**
 * Where the notification log and silences live. Single replica: memory,
 * snapshotted atomically to the data directory. Several replicas: Redis, with a
 * lease per flush so exactly one replica sends a group's notification and a
 * dead replica's lease runs out for another to take over.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { JsonFile } from './persist.js';
import type { Silence } from './silences.js';
import { lazyRequire } from '../../util/lazy-require.js';

const ioredis = lazyRequire<typeof import('ioredis')>('ioredis');

/** What was last sent for one group to one integration (Alertmanager's nflog entry). */
export interface NflogEntry {
  firing: string[];
  resolved: string[];
  timestamp: number;
  expiresAt: number;
}

export interface NotifyState {
  nflogGet(key: string): Promise<NflogEntry | undefined>;
  nflogSet(key: string, e: NflogEntry): Promise<void>;
  silences(): Promise<Silence[]>;
  silenceSet(s: Silence): Promise<void>;
  silenceDelete(id: string): Promise<void>;
  /** Takes the lease on `key` for `ms`; false if another holder has it. */
  acquire(key: string, ms: number): Promise<boolean>;
  release(key: string): Promise<void>;
  /** Drops nflog entries past expiry. */
  gc(now: number): Promise<void>;
  close(): Promise<void>;
}

export class FileState implements NotifyState {
  private nflog = new Map<string, NflogEntry>();
  private sil = new Map<string, Silence>();
  private readonly nflogFile: JsonFile<Record<string, NflogEntry>>;
  private readonly silFile: JsonFile<Silence[]>;

  constructor(dataDir: string) {
    this.nflogFile = new JsonFile(join(dataDir, 'notify', 'nflog.json'), () => Object.fromEntries(this.nflog));
    this.silFile = new JsonFile(join(dataDir, 'notify', 'silences.json'), () => [...this.sil.values()]);
    this.nflog = new Map(Object.entries(this.nflogFile.read() ?? {}));
    for (const s of this.silFile.read() ?? []) this.sil.set(s.id, s);
  }
  async nflogGet(key: string) {
    return this.nflog.get(key);
  }
  async nflogSet(key: string, e: NflogEntry) {
    this.nflog.set(key, e);
    await this.nflogFile.save();
  }
  async silences() {
    return [...this.sil.values()];
  }
  async silenceSet(s: Silence) {
    this.sil.set(s.id, s);
    await this.silFile.save();
  }
  async silenceDelete(id: string) {
    if (this.sil.delete(id)) await this.silFile.save();
  }
  async acquire() {
    return true;
  }
  async release() {}
  async gc(now: number) {
    let changed = false;
    for (const [k, e] of this.nflog) if (e.expiresAt <= now) changed = this.nflog.delete(k) || changed;
    if (changed) await this.nflogFile.save();
  }
  async close() {
    await this.nflogFile.save();
    await this.silFile.save();
  }
}

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class RedisState implements NotifyState {
  private readonly redis: Redis;
  private readonly token = randomUUID();
  private readonly cache = { at: 0, list: [] as Silence[] };

  constructor(
    url: string,
    private readonly prefix = 'vigil:notify:',
  ) {
    this.redis = new (ioredis().Redis)(url, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    // Errors surface on commands; the connection event would otherwise be unhandled.
    this.redis.on('error', () => undefined);
  }
  private k(s: string) {
    return this.prefix + s;
  }
  async nflogGet(key: string) {
    const v = await this.redis.hget(this.k('nflog'), key);
    return v ? (JSON.parse(v) as NflogEntry) : undefined;
  }
  async nflogSet(key: string, e: NflogEntry) {
    await this.redis.hset(this.k('nflog'), key, JSON.stringify(e));
  }
  async silences() {
    // Read on every mute check would be one round trip per flush; 200 ms staleness is fine.
    if (Date.now() - this.cache.at < 200) return this.cache.list;
    const all = await this.redis.hvals(this.k('silences'));
    this.cache.list = all.map((v) => JSON.parse(v) as Silence);
    this.cache.at = Date.now();
    return this.cache.list;
  }
  async silenceSet(s: Silence) {
    await this.redis.hset(this.k('silences'), s.id, JSON.stringify(s));
    this.cache.at = 0;
  }
  async silenceDelete(id: string) {
    await this.redis.hdel(this.k('silences'), id);
    this.cache.at = 0;
  }
  async acquire(key: string, ms: number) {
    const r = await this.redis.set(this.k(`lease:${key}`), this.token, 'PX', Math.max(1, Math.round(ms)), 'NX');
    return r === 'OK';
  }
  async release(key: string) {
    await this.redis.eval(RELEASE, 1, this.k(`lease:${key}`), this.token);
  }
  async gc(now: number) {
    const all = await this.redis.hgetall(this.k('nflog'));
    const dead = Object.entries(all)
      .filter(([, v]) => (JSON.parse(v) as NflogEntry).expiresAt <= now)
      .map(([k]) => k);
    if (dead.length) await this.redis.hdel(this.k('nflog'), ...dead);
  }
  async close() {
    this.redis.disconnect();
  }
}
