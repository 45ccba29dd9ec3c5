/**
 * `/api/v1/targets` compared with the real Prometheus 2.42 for the same
 * file_sd configuration: same active and dropped targets with the same fields
 * and values, the same answers to `state=` and `scrapePool=`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vigil } from '../../src/main.js';
import { freePort, waitFor } from '../helpers/net.js';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { requireBinary } from '../helpers/services.js';
import { e2eDir, getJson, type E2EDir } from '../e2e/harness.js';
import { startTargets, stopTargets, type FakeTarget } from './targets.js';

const prometheusBin = requireBinary('prometheus');
let targets: FakeTarget[] = [];
let d: E2EDir;
let prom: RunningPrometheus | undefined;
let vigil: Vigil | undefined;
let downAddress = '';

function scrapeConfigs(dir: string) {
  return [
    {
      job_name: 'app',
      scrape_interval: '1s',
      scrape_timeout: '500ms',
      file_sd_configs: [{ files: [join(dir, 'sd', '*.json')], refresh_interval: '1s' }],
      relabel_configs: [
        { source_labels: ['env'], regex: 'drop-me', action: 'drop' },
        { source_labels: ['__meta_filepath'], regex: '.*/(.*)\\.json', target_label: 'sd_file' },
      ],
    },
    {
      job_name: 'other',
      scrape_interval: '1s',
      metrics_path: '/custom',
      params: { format: ['prometheus'] },
      file_sd_configs: [{ files: [join(dir, 'sd', '*.yml')], refresh_interval: '1s' }],
    },
    {
      // A static split by hashmod: the same targets kept and dropped as Prometheus.
      job_name: 'sharded',
      scrape_interval: '1s',
      file_sd_configs: [{ files: [join(dir, 'sd-many', 'many.json')], refresh_interval: '1s' }],
      relabel_configs: [
        { source_labels: ['__address__'], modulus: 3, target_label: '__tmp_shard', action: 'hashmod' },
        { source_labels: ['__tmp_shard'], regex: '1', action: 'keep' },
      ],
    },
  ];
}

type ApiTarget = Record<string, any>;
interface TargetsAnswer {
  activeTargets: ApiTarget[];
  droppedTargets: ApiTarget[];
}

async function targetsOf(base: string, query = ''): Promise<TargetsAnswer> {
  const r = await getJson<{ status: string; data: TargetsAnswer }>(`${base}/api/v1/targets${query}`);
  expect(r.status).toBe('success');
  return r.data;
}

/** The comparable part: everything but the times of the last scrape. */
function comparable(a: TargetsAnswer): { active: ApiTarget[]; dropped: ApiTarget[] } {
  const pools = new Set(['app', 'other', 'sharded']);
  const active = a.activeTargets
    .filter((t) => pools.has(t.scrapePool))
    .map((t): ApiTarget => {
      const { lastScrape, lastScrapeDuration, lastError, ...rest } = t;
      expect(typeof lastScrapeDuration).toBe('number');
      expect(lastScrape).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      // Error texts are each implementation's own; whether there is one is compared.
      return { ...rest, hasError: lastError !== '' };
    })
    .sort((x, y) => (x.scrapeUrl < y.scrapeUrl ? -1 : 1));
  const dropped = a.droppedTargets
    .filter((t) => pools.has(t.discoveredLabels.job))
    .sort((x, y) => (x.discoveredLabels.__address__ < y.discoveredLabels.__address__ ? -1 : 1));
  return { active, dropped };
}

beforeAll(async () => {
  if (!prometheusBin) return;
  targets = await startTargets(4);
  downAddress = `127.0.0.1:${await freePort()}`;
  d = e2eDir('targets-api');
  mkdirSync(join(d.dir, 'sd'));
  writeFileSync(
    join(d.dir, 'sd', 'web.json'),
    JSON.stringify([
      { targets: [targets[0].address, targets[1].address], labels: { env: 'prod', team: 'planning' } },
      { targets: [targets[2].address, downAddress], labels: { env: 'drop-me' } },
      { targets: [downAddress], labels: { env: 'staging' } },
    ]),
  );
  // Addresses nobody listens on: only which of them each side keeps matters.
  mkdirSync(join(d.dir, 'sd-many'));
  writeFileSync(join(d.dir, 'sd-many', 'many.json'), JSON.stringify([{ targets: Array.from({ length: 30 }, (_, i) => `127.0.1.${i + 1}:1`) }]));
  writeFileSync(join(d.dir, 'sd', 'db.yml'), `- targets: ['${targets[3].address}']\n  labels:\n    role: exporter\n`);
  prom = await startPrometheus({ prometheus: prometheusBin, config: JSON.stringify({ global: { scrape_interval: '1s', scrape_timeout: '1s' }, scrape_configs: scrapeConfigs(d.dir) }) });
  d.write('vigil.yml', {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1m' },
    server: { listen: '127.0.0.1:0' },
    storage: { path: 'data', retention: '1h' },
    logs: { self: false },
    scrape_configs: scrapeConfigs(d.dir),
  });
  vigil = await d.start();
}, 60_000);

afterAll(async () => {
  await vigil?.stop();
  await prom?.stop();
  await stopTargets(targets);
  d?.remove();
});

describe.skipIf(!prometheusBin)('targets API against Prometheus 2.42, same file_sd configuration', () => {
  it('answers with the same active and dropped targets, fields and values', async () => {
    const scrapedOnce = (a: TargetsAnswer) => {
      const c = a.activeTargets.filter((t) => t.scrapePool === 'app' || t.scrapePool === 'other');
      return c.length === 4 && c.every((t) => t.health !== 'unknown') && a.activeTargets.some((t) => t.scrapePool === 'sharded');
    };
    const waitScraped = (name: string, url: string) =>
      waitFor(async () => scrapedOnce(await targetsOf(url)), 30_000).catch(async (err: Error) => {
        const a = await targetsOf(url);
        throw new Error(`${name}: ${err.message}: ${JSON.stringify(a.activeTargets.map((t) => [t.scrapePool, t.scrapeUrl, t.health]))}`);
      });
    await waitScraped('prometheus', prom!.url);
    await waitScraped('vigil', vigil!.url);
    const p = await targetsOf(prom!.url);
    const v = await targetsOf(vigil!.url);
    expect(Object.keys(v).sort()).toEqual(Object.keys(p).sort());
    for (const t of v.activeTargets) expect(Object.keys(t).sort()).toEqual(Object.keys(p.activeTargets[0]).sort());
    for (const t of v.droppedTargets) expect(Object.keys(t).sort()).toEqual(Object.keys(p.droppedTargets[0]).sort());
    const pc = comparable(p);
    const vc = comparable(v);
    expect(pc.active.filter((t) => t.scrapePool !== 'sharded')).toHaveLength(4);
    expect(pc.dropped.filter((t) => t.discoveredLabels.job !== 'sharded')).toHaveLength(2);
    const shardedKept = pc.active.filter((t) => t.scrapePool === 'sharded').length;
    expect(shardedKept).toBeGreaterThan(0);
    expect(shardedKept).toBeLessThan(30);
    // The sharded pool's targets are not scraped yet on either side everywhere: compare what they are, not their health.
    const shape = (c: { active: ApiTarget[]; dropped: ApiTarget[] }) => ({
      active: c.active.map((t) => (t.scrapePool === 'sharded' ? { ...t, health: undefined, hasError: undefined } : t)),
      dropped: c.dropped,
    });
    expect(shape(vc)).toEqual(shape(pc));
    expect(pc.active.find((t) => t.labels.instance === downAddress)).toMatchObject({ health: 'down', hasError: true });
  });

  it('filters by state= and scrapePool= as Prometheus does', async () => {
    for (const q of ['?state=active', '?state=dropped', '?state=any', '?state=bogus', '?scrapePool=other', '?scrapePool=app&state=dropped', '?scrapePool=nope']) {
      const p = await targetsOf(prom!.url, q);
      const v = await targetsOf(vigil!.url, q);
      const pc = comparable(p);
      const vc = comparable(v);
      expect(vc.active.map((t) => t.scrapeUrl), q).toEqual(pc.active.map((t) => t.scrapeUrl));
      expect(vc.dropped, q).toEqual(pc.dropped);
      expect(v.activeTargets.length === 0, q).toBe(p.activeTargets.length === 0 || !p.activeTargets.some((t) => ['app', 'other'].includes(t.scrapePool)));
    }
  });

  it('/api/v1/targets/metadata answers in Prometheus\'s shape and validates its parameters', async () => {
    for (const q of ['', '?metric=app_up', '?match_target={job="app"}&limit=1']) {
      const p = await getJson<{ status: string; data: unknown[] }>(`${prom!.url}/api/v1/targets/metadata${q}`);
      const v = await getJson<{ status: string; data: unknown[] }>(`${vigil!.url}/api/v1/targets/metadata${q}`);
      expect(v.status).toBe(p.status);
      expect(Array.isArray(v.data)).toBe(true);
    }
    // The same entries: what each target exposed, under its final labels.
    for (const q of ['?metric=app_up', '?match_target={job="other"}', '?match_target={job="app",env="prod"}&metric=app_up']) {
      const p = await getJson<{ data: unknown[] }>(`${prom!.url}/api/v1/targets/metadata${q}`);
      const v = await getJson<{ data: unknown[] }>(`${vigil!.url}/api/v1/targets/metadata${q}`);
      // Label order inside an object is not part of the answer.
      const canon = (x: unknown): unknown => (x && typeof x === 'object' ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, y]) => [k, canon(y)])) : x);
      const sorted = (d: unknown[]) => d.map((x) => JSON.stringify(canon(x))).sort();
      expect(p.data.length, q).toBeGreaterThan(0);
      expect(sorted(v.data), q).toEqual(sorted(p.data));
    }
    for (const q of ['?limit=abc', '?match_target={job=~"("}']) {
      const p = await fetch(`${prom!.url}/api/v1/targets/metadata${q}`);
      const v = await fetch(`${vigil!.url}/api/v1/targets/metadata${q}`);
      expect(v.status, q).toBe(p.status);
      expect(((await v.json()) as { errorType: string }).errorType).toBe(((await p.json()) as { errorType: string }).errorType);
    }
  });
});
