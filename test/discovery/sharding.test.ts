/**
 * Three Vigil processes on one Redis split 30 file-discovered targets. Counted
 * from the targets' own request logs: one scrape per target per interval while
 * all run, the killed replica's targets picked up within two intervals, and no
 * target scraped twice in an interval while the replica rejoins.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildScrapeTargets } from '../../src/collectors/scrape-targets.js';
import { offsetFor } from '../../src/collectors/scrape-loop.js';
import { parseConfig } from '../../src/config/index.js';
import { rendezvousOwner } from '../../src/discovery/shard.js';
import { freePort, waitFor } from '../helpers/net.js';
import { hasRedis, REDIS_URL } from '../helpers/services.js';
import { spawnTied } from '../helpers/spawn-tied.js';
import { vigilCli } from '../e2e/vigil-cli.js';
import { startTargets, stopTargets, type FakeTarget } from './targets.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// A second and a half: a replica of a loaded 2-core machine may stall for a second,
// which at shorter intervals skips a grid point (as Prometheus skips a late scrape).
const INTERVAL = 1_500;
/**
 * Membership timing follows the interval: a dead replica's heartbeat expires
 * (and the survivors, woken at the expiry, take its targets over) well within
 * one interval of the kill, so its targets, at the next grid point of their new
 * owner, are scraped within two intervals of it. A live replica fences itself
 * after half the member timeout without a confirmed heartbeat: two heartbeats.
 */
const MEMBER_TIMEOUT = (4 * INTERVAL) / 5;
const HEARTBEAT = INTERVAL / 5;
const SCRAPE_TIMEOUT = INTERVAL / 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * Polls of the replicas' APIs: settling takes seconds, and each poll is three
 * target listings answered by processes that share the two cores with the
 * scrapes being counted. A tenth of the interval finds the state soon enough.
 */
const POLL_MS = INTERVAL / 10;

describe('rendezvous hashing', () => {
  const keys = Array.from({ length: 3000 }, (_, i) => `scrape|app|http://10.0.${i >> 8}.${i & 255}:9100/metrics|`);
  it('moves only the targets of a member that leaves, and about 1/n when one joins', () => {
    const three = new Map(keys.map((k) => [k, rendezvousOwner(['r1', 'r2', 'r3'], k)]));
    const two = new Map(keys.map((k) => [k, rendezvousOwner(['r1', 'r2'], k)]));
    for (const k of keys) if (three.get(k) !== 'r3') expect(two.get(k)).toBe(three.get(k));
    const counts = ['r1', 'r2', 'r3'].map((r) => [...three.values()].filter((o) => o === r).length);
    for (const c of counts) expect(c).toBeGreaterThan(800);
    const moved = keys.filter((k) => two.get(k) !== three.get(k)).length;
    expect(moved).toBe(counts[2]);
    // Same inputs, same owner: stable across processes and restarts.
    expect(keys.map((k) => rendezvousOwner(['r3', 'r1', 'r2'], k))).toEqual(keys.map((k) => three.get(k)));
  });
});

let redisOk = false;
let targets: FakeTarget[] = [];
let dir = '';
const run = randomBytes(4).toString('hex');
const prefix = `vigil-test-shard-${process.pid}-${run}:`;
/**
 * Scrapes ask for this run's own query: a replica left behind by an interrupted run (its
 * test process gone before its afterAll) scrapes its old addresses every interval for
 * as long as it lives, and a target here on a reused port would count those as doubles.
 */
const params = { run: [run] };
const scrapePath = `/metrics?run=${run}`;
const procs = new Map<string, ChildProcess>();
const ports = new Map<string, number>();

async function startReplica(name: string): Promise<void> {
  const port = ports.get(name) ?? (await freePort());
  ports.set(name, port);
  const config = join(dir, `${name}.yml`);
  writeFileSync(
    config,
    stringify({
      global: { scrape_interval: `${INTERVAL}ms`, scrape_timeout: `${SCRAPE_TIMEOUT}ms`, evaluation_interval: '1m' },
      server: { listen: `127.0.0.1:${port}` },
      storage: { path: `data-${name}`, retention: '1h' },
      logs: { self: false },
      // The replicas stand for separate machines. Here they share two cores with the
      // suite; at the default nice 10 the other processes' load starves their scrape
      // threads for seconds and grid points are skipped, which is scheduling, not sharding.
      scrape_workers: { nice: 0 },
      sharding: { redis_url: REDIS_URL, key_prefix: prefix, replica: name, heartbeat_interval: `${HEARTBEAT}ms`, member_timeout: `${MEMBER_TIMEOUT}ms` },
      scrape_configs: [{ job_name: 'app', params, file_sd_configs: [{ files: ['targets.json'] }] }],
    }),
  );
  // Should this process die before afterAll, the replica exits too.
  const child = spawnTied([...vigilCli, 'start', '--config', config], {
    cwd: ROOT,
    stdout: openSync(join(dir, `${name}.log`), 'a'),
    env: { ...process.env, VIGIL_LOG_LEVEL: process.env.VIGIL_SHARD_TEST_LOG ?? 'warn' },
  });
  procs.set(name, child);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => undefined))?.ok, 60_000, POLL_MS);
}

async function active(name: string): Promise<Array<{ health: string }>> {
  const r = (await (await fetch(`http://127.0.0.1:${ports.get(name)}/api/v1/targets?scrapePool=app`)).json()) as { data: { activeTargets: Array<{ health: string }> } };
  return r.data.activeTargets;
}

async function activeCount(name: string): Promise<number> {
  return (await active(name)).length;
}

function kill(name: string): Promise<void> {
  const child = procs.get(name)!;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  return exited;
}

/** Each target's scrape offset within the interval, computed as the replicas compute it. */
function offsets(): Map<string, number> {
  const cfg = parseConfig(`scrape_configs: [{job_name: app, scrape_interval: ${INTERVAL}ms, scrape_timeout: ${SCRAPE_TIMEOUT}ms, params: {run: ['${run}']}}]`).scrape_configs[0];
  const groups = [{ source: 'f', targets: targets.map((t) => ({ __address__: t.address })), labels: { service: 'sical-backend' } }];
  const built = buildScrapeTargets(cfg, { scrape_interval: INTERVAL, scrape_timeout: SCRAPE_TIMEOUT }, groups);
  return new Map(built.targets.map((t) => [t.settings.targetLabels.instance, offsetFor(t.key, INTERVAL)]));
}

/**
 * Scrapes of each target per interval. A scrape belongs to the interval it was
 * scheduled in: the loop fires at interval start + the target's offset, never
 * earlier (a millisecond of timer jitter aside), possibly later under load.
 */
function perInterval(t: FakeTarget, from: number, to: number): number[] {
  const offset = offsetMap.get(t.address)!;
  const slot = (x: number) => Math.floor((x - offset + 5) / INTERVAL);
  const counts = new Map<number, number>();
  for (const x of t.log) counts.set(slot(x), (counts.get(slot(x)) ?? 0) + 1);
  const out: number[] = [];
  for (let k = Math.ceil((from - offset) / INTERVAL); (k + 1) * INTERVAL + offset <= to; k++) out.push(counts.get(k) ?? 0);
  return out;
}

let offsetMap = new Map<string, number>();

/** Event-loop stalls of this process (when, how long): the targets' logs are taken here. */
const stalls: Array<[number, number]> = [];
function watchStalls(): NodeJS.Timeout {
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    if (now - last > 600) stalls.push([last, now - last - 100]);
    last = now;
  }, 100);
  timer.unref();
  return timer;
}

beforeAll(async () => {
  redisOk = await hasRedis();
  if (!redisOk) return;
  targets = await startTargets(30, undefined, scrapePath);
  dir = mkdtempSync(join(tmpdir(), 'vigil-shard-'));
  writeFileSync(join(dir, 'targets.json'), JSON.stringify([{ targets: targets.map((t) => t.address), labels: { service: 'sical-backend' } }]));
  offsetMap = offsets();
});

afterAll(async () => {
  for (const name of procs.keys()) if (procs.get(name)!.exitCode === null) await kill(name);
  await stopTargets(targets);
  if (redisOk) {
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
  if (dir && !process.env.VIGIL_SHARD_TEST_LOG) rmSync(dir, { recursive: true, force: true });
});

describe('three replicas on one Redis, 30 targets', () => {
  it('each target scraped by exactly one replica per interval; a killed replica’s targets move within two intervals; a restart settles without double scrapes', async () => {
    if (!redisOk) return;
    await Promise.all(['r1', 'r2', 'r3'].map(startReplica));
    const stallTimer = watchStalls();
    // Settled: every replica owns some targets, together exactly all of them, and has
    // scraped each of its own successfully (its scrape threads run: on a loaded machine
    // starting them takes seconds, during which first scrapes are late).
    await waitFor(async () => {
      const owned = await Promise.all(['r1', 'r2', 'r3'].map(active));
      return owned.every((ts) => ts.length > 0) && owned.flat().length === 30 && owned.flat().every((t) => t.health === 'up');
    }, 60_000, POLL_MS);
    // Every loop has made its first scrape, however late: those lie before steadyFrom, in
    // intervals that began before it, and only intervals beginning after it are counted.
    const steadyFrom = Date.now();
    await sleep(3 * INTERVAL);

    const killedAt = Date.now();
    await kill('r3');
    // The survivors take over once r3's last heartbeat is older than the member timeout; from
    // then on at least one whole interval is checked on them. Their loops exist by the time the
    // API lists the targets, so every interval beginning after that must be scraped once.
    await waitFor(async () => (await activeCount('r1')) + (await activeCount('r2')) === 30, 4 * INTERVAL, POLL_MS);
    const takenOver = Date.now();
    await sleep(2 * INTERVAL);
    const afterKill = Date.now();

    const restartAt = Date.now();
    await startReplica('r3');
    // Settled: the restarted replica owns targets again and has scraped each of them.
    await waitFor(async () => {
      const r3 = await active('r3');
      return r3.length > 0 && r3.every((t) => t.health !== 'unknown');
    }, 60_000, POLL_MS);
    const rejoined = Date.now();
    // The old owners stopped before the restarted replica began, which has now scraped each of
    // its targets: at least one whole interval after this is checked on all three.
    await sleep(2 * INTERVAL);
    const end = Date.now();
    expect((await activeCount('r1')) + (await activeCount('r2')) + (await activeCount('r3'))).toBe(30);

    const explain = (t: FakeTarget) =>
      `offset ${offsetMap.get(t.address)}, log relative to the kill at ${killedAt}: ${t.log.map((x) => x - killedAt).join(',')}; steady from ${steadyFrom - killedAt}, restart ${restartAt - killedAt}, taken over ${takenOver - killedAt}, rejoined ${rejoined - killedAt}; this process stalled ${stalls.map(([at, ms]) => `${ms}ms at ${at - killedAt}`).join(', ') || 'never'} (over 500 ms); logs in ${dir}`;
    for (const t of targets) {
      const steady = perInterval(t, steadyFrom, killedAt);
      const all = perInterval(t, steadyFrom, end);
      const afterKillCounts = perInterval(t, takenOver, afterKill);
      const settled = perInterval(t, rejoined, end);
      if (![...steady, ...all, ...afterKillCounts, ...settled].every((c) => c === 1)) {
        // Which replica scheduled which grid point (the `up` timestamps), beside the target's log:
        // tells a scrape that arrived late from one never made.
        console.error(t.address, explain(t));
        for (const r of ['r1', 'r2', 'r3']) {
          const q = await fetch(`http://127.0.0.1:${ports.get(r)}/api/v1/query?query=${encodeURIComponent(`up{instance="${t.address}"}[5m]`)}`);
          const body = (await q.json()) as { data: { result: Array<{ values: Array<[number, string]> }> } };
          console.error(r, (body.data.result[0]?.values ?? []).map(([ts]) => Math.round(ts * 1000) - killedAt).join(','));
        }
      }
      // All three up: exactly once per interval.
      expect(steady.length, `${t.address} steady intervals`).toBeGreaterThanOrEqual(2);
      expect(steady.every((c) => c === 1), `${t.address} steady ${steady}`).toBe(true);
      // Never twice in an interval, from the steady state through the kill and the rejoin.
      expect(Math.max(...all), `${t.address} double`).toBe(1);
      // Picked up by the survivors within two intervals of the kill, then every interval.
      expect(afterKillCounts.every((c) => c === 1), `${t.address} after kill ${afterKillCounts}`).toBe(true);
      expect(t.log.some((x) => x > killedAt && x <= killedAt + 2 * INTERVAL), `${t.address} within two intervals`).toBe(true);
      // Once the split settled again, every interval once more.
      expect(settled.every((c) => c === 1), `${t.address} after rejoin ${settled}; ${explain(t)}`).toBe(true);
    }
    clearInterval(stallTimer);
    expect(restartAt).toBeGreaterThan(killedAt);
  }, 240_000);
});
