/**
 * The shard's membership rules with injected clocks and real Redis: heartbeats
 * are driven by calling tick() at chosen times, so joins, deaths, stalls and a
 * Redis outage are stepped through without waiting.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { RedisShard } from '../../src/discovery/shard.js';
import { silentLogger } from '../../src/logger.js';
import { freePort } from '../helpers/net.js';
import { hasRedis, REDIS_URL } from '../helpers/services.js';

const KEYS = Array.from({ length: 300 }, (_, i) => `scrape|app|http://10.0.0.${i}:9100/metrics|`);
const prefix = `vigil-test-shardunit-${process.pid}-${randomBytes(4).toString('hex')}:`;
let redisOk = false;
const made: RedisShard[] = [];

beforeAll(async () => {
  redisOk = await hasRedis();
});
afterAll(async () => {
  for (const s of made) await s.stop(false);
  if (!redisOk) return;
  const r = new Redis(REDIS_URL);
  const keys = await r.keys(`${prefix}*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
});

/** Heartbeat 1 h of real time: only explicit tick() calls move things. */
function shard(name: string, clock: { t: number }, url = REDIS_URL, sub = 'a'): RedisShard {
  const config = parseConfig(`sharding: {replica: ${name}, key_prefix: '${prefix}${sub}:', heartbeat_interval: 1h, member_timeout: 3h}`).sharding!;
  // Scaled down: heartbeat 1000, timeout 3000 (ms of the fake clock).
  const s = new RedisShard({ config: { ...config, heartbeat_interval: 1_000, member_timeout: 3_000 }, redisUrl: url, logger: silentLogger(), now: () => clock.t });
  made.push(s);
  return s;
}

const owned = (s: RedisShard) => KEYS.filter((k) => s.owns(k)).length;

describe('sharding membership', () => {
  it('join, death and a stalled replica: never two owners for one target', async () => {
    if (!redisOk) return;
    const ca = { t: 1_000_000 };
    const cb = { t: 1_000_000 };
    const a = shard('a', ca);
    const b = shard('b', cb);
    await a.start();
    await b.start();
    const both = async (dt: number) => {
      ca.t += dt;
      cb.t += dt;
      await a.tick();
      await b.tick();
    };
    const noDoubles = () => {
      for (const k of KEYS) expect(Number(a.owns(k)) + Number(b.owns(k))).toBeLessThanOrEqual(1);
    };
    // Until a newcomer's start time nobody counts it; then the others first, itself a heartbeat later.
    expect(owned(a) + owned(b)).toBe(0);
    for (let i = 0; i < 3; i++) {
      await both(1_000);
      noDoubles();
    }
    expect(owned(a) + owned(b)).toBe(KEYS.length);
    expect(owned(a)).toBeGreaterThan(100);

    // b stalls (no heartbeat): a takes over only after the member timeout...
    ca.t += 1_000;
    await a.tick();
    ca.t += 1_000;
    await a.tick();
    expect(owned(a)).toBeLessThan(KEYS.length);
    ca.t += 1_500;
    await a.tick();
    expect(owned(a)).toBe(KEYS.length);
    // ...while b, when it runs again, first drops everything (it was silent for over half the timeout)
    // and comes back as a newcomer instead of scraping beside a.
    cb.t = ca.t;
    await b.tick();
    expect(owned(b)).toBe(0);
    noDoubles();
    await a.tick();
    noDoubles();
    // Its start time is two heartbeats ahead, its own start one more: the targets wait meanwhile.
    for (let i = 0; i < 8; i++) {
      await both(500);
      noDoubles();
    }
    expect(owned(a) + owned(b)).toBe(KEYS.length);
    expect(owned(b)).toBeGreaterThan(100);

    // Graceful stop removes b at once; a owns everything at its next heartbeat.
    await b.stop(true);
    await both(1_000);
    expect(owned(a)).toBe(KEYS.length);
  });

  it('with Redis unreachable past the member timeout, a replica scrapes every target', async () => {
    const clock = { t: 5_000_000 };
    const s = shard('lonely', clock, `redis://127.0.0.1:${await freePort()}`, 'b');
    await s.start();
    expect(owned(s)).toBe(0);
    clock.t += 3_500;
    await s.tick();
    expect(owned(s)).toBe(KEYS.length);
  }, 30_000);
});
