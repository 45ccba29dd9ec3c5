import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCollectors, type Collectors } from '../../src/collectors/index.js';
import { parseConfig } from '../../src/config/index.js';
import { FileDiscoverer } from '../../src/discovery/file.js';
import { DiscoveryManager } from '../../src/discovery/manager.js';
import type { TargetGroup } from '../../src/discovery/types.js';
import { silentLogger } from '../../src/logger.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import { waitFor } from '../helpers/net.js';
import { startTargets, stopTargets, type FakeTarget } from './targets.js';

let targets: FakeTarget[];
let dir: string;
beforeAll(async () => {
  targets = await startTargets(4);
});
afterAll(async () => {
  await stopTargets(targets);
});

let collectors: Collectors | undefined;
let manager: DiscoveryManager | undefined;
afterEach(async () => {
  await manager?.stop();
  await collectors?.stop();
  manager = collectors = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function setup(refresh = '1h', extra = ''): { storage: MemoryStorage; collectors: Collectors; manager: DiscoveryManager } {
  dir = mkdtempSync(join(tmpdir(), 'vigil-filesd-'));
  const config = parseConfig(
    `global: {scrape_interval: 1h, scrape_timeout: 5s}
scrape_configs:
  - job_name: app
    file_sd_configs:
      - files: ['${dir}/*.yml', '${dir}/*.json']
        refresh_interval: ${refresh}
${extra}`,
    'vigil.yml',
  );
  const storage = new MemoryStorage();
  const c = createCollectors({ config, storage, registry: new Registry(), logger: silentLogger() });
  const m = new DiscoveryManager({ logger: silentLogger(), baseDir: dir, updateIntervalMs: 3_600_000, onUpdate: (pool, groups) => c.setDiscoveredGroups(pool, groups) });
  collectors = c;
  manager = m;
  return { storage, collectors: c, manager: m };
}

const instances = (c: Collectors) => c.targets().map((t) => t.labels.instance).sort();

describe('file_sd_configs', () => {
  it('reads YAML and JSON files, applies group labels and __meta_filepath, follows edits', async () => {
    const { collectors: c, manager: m, storage } = setup();
    writeFileSync(join(dir, 'a.yml'), `- targets: ['${targets[0].address}', '${targets[1].address}']\n  labels: {env: prod}\n`);
    writeFileSync(join(dir, 'b.json'), JSON.stringify([{ targets: [targets[2].address], labels: { env: 'dev' } }]));
    await m.apply(parseConfig(`scrape_configs: [{job_name: app, file_sd_configs: [{files: ['${dir}/*.yml', '${dir}/*.json'], refresh_interval: 1h}]}]`).scrape_configs);
    await m.refreshAll();
    await c.scrapeAll();
    expect(instances(c)).toEqual([targets[0].address, targets[1].address, targets[2].address].sort());
    const t0 = c.targets().find((t) => t.labels.instance === targets[0].address)!;
    expect(t0.labels).toEqual({ instance: targets[0].address, job: 'app', env: 'prod' });
    expect(t0.discoveredLabels).toMatchObject({ __address__: targets[0].address, __meta_filepath: join(dir, 'a.yml'), env: 'prod', job: 'app', __scheme__: 'http', __metrics_path__: '/metrics' });

    // Remove target 1 from the file: its loop stops and its series end with staleness markers.
    writeFileSync(join(dir, 'a.yml'), `- targets: ['${targets[0].address}', '${targets[3].address}']\n  labels: {env: prod}\n`);
    await m.refreshAll();
    await c.scrapeAll();
    expect(instances(c)).toEqual([targets[0].address, targets[2].address, targets[3].address].sort());
    const up = storage.querier().select([{ type: '=', name: '__name__', value: 'up' }, { type: '=', name: 'instance', value: targets[1].address }], -Infinity, Infinity);
    expect(up).toHaveLength(1);
    expect(up[0].stale?.[up[0].stale.length - 1]).toBe(1);
  });

  it('keeps the last good targets when a file turns malformed and names the file and line', async () => {
    const { collectors: c, manager: m } = setup();
    const file = join(dir, 'a.yml');
    writeFileSync(file, `- targets: ['${targets[0].address}']\n`);
    await m.apply(parseConfig(`scrape_configs: [{job_name: app, file_sd_configs: [{files: ['${dir}/*.yml']}]}]`).scrape_configs);
    await m.refreshAll();
    expect(instances(c)).toEqual([targets[0].address]);

    writeFileSync(file, `- targets: ['${targets[0].address}']\n- targets: ['x:1']\n  lables: {a: b}\n`);
    await m.refreshAll();
    expect(instances(c)).toEqual([targets[0].address]);
    const err = m.status()[0].error ?? '';
    expect(err).toContain(`${file}:2`);
    expect(err).toMatch(/lables/);

    writeFileSync(file, `- targets: ['${targets[0].address}'\n`); // YAML syntax error
    await m.refreshAll();
    expect(instances(c)).toEqual([targets[0].address]);
    expect(m.status()[0].error).toMatch(new RegExp(`${file}:\\d+`));

    writeFileSync(file, `- targets: ['${targets[1].address}']\n  labels: {"bad-name": x}\n`);
    await m.refreshAll();
    expect(instances(c)).toEqual([targets[0].address]);
    expect(m.status()[0].error).toContain(`${file}:2`);

    writeFileSync(file, `- targets: ['${targets[1].address}']\n`);
    await m.refreshAll();
    expect(instances(c)).toEqual([targets[1].address]);
    expect(m.status()[0].error).toBeUndefined();
  });

  it('refuses hostile input without losing targets: huge files, deep nesting, alias bombs, binary garbage', async () => {
    const { collectors: c, manager: m } = setup();
    const file = join(dir, 'a.json');
    writeFileSync(file, JSON.stringify([{ targets: [targets[0].address] }]));
    await m.apply(parseConfig(`scrape_configs: [{job_name: app, file_sd_configs: [{files: ['${dir}/*.json']}]}]`).scrape_configs);
    await m.refreshAll();
    const bad = [
      '['.repeat(5000) + ']'.repeat(5000),
      'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n'.replace(/d: \[/, 'd: &d ['),
      Buffer.from([0, 1, 2, 255, 254, 0]).toString('latin1'),
      '{"targets": "not-a-list"}',
      ' '.repeat(17 * 1024 * 1024),
    ];
    for (const content of bad) {
      writeFileSync(file, content);
      await m.refreshAll();
      expect(instances(c)).toEqual([targets[0].address]);
      expect(m.status()[0].error).toContain(file);
    }
  });

  it('notices an edited file through the directory watch, well within refresh_interval', async () => {
    const { collectors: c, manager: m } = setup();
    const file = join(dir, 'a.yml');
    writeFileSync(file, `- targets: ['${targets[0].address}']\n`);
    const fast = new DiscoveryManager({ logger: silentLogger(), baseDir: dir, updateIntervalMs: 0, onUpdate: (pool, groups) => c.setDiscoveredGroups(pool, groups) });
    await m.stop();
    manager = fast;
    await fast.apply(parseConfig(`scrape_configs: [{job_name: app, file_sd_configs: [{files: ['${dir}/*.yml'], refresh_interval: 1h}]}]`).scrape_configs);
    await waitFor(() => instances(c).length === 1);
    writeFileSync(file, `- targets: ['${targets[0].address}', '${targets[1].address}']\n`);
    // refresh_interval is an hour: only the watch can bring the change.
    await waitFor(() => instances(c).length === 2);
    expect(instances(c)).toEqual([targets[0].address, targets[1].address].sort());
  });

  it('re-reads every refresh_interval where no watch reaches: an edit shows at the interval, not before', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-filesd-'));
    // The directory appears after start, so there is nothing to watch: only the interval reads it.
    const sub = join(dir, 'later');
    const cfg = parseConfig(`scrape_configs: [{job_name: app, file_sd_configs: [{files: ['${sub}/*.yml'], refresh_interval: 30s}]}]`).scrape_configs[0].file_sd_configs[0];
    // The interval timer is stepped by hand; file I/O and everything else run for real.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const d = new FileDiscoverer(cfg, { logger: silentLogger(), baseDir: dir, reportError: () => undefined });
    const groups = new Map<string, TargetGroup>();
    let reads = 0;
    const addresses = () => [...groups.values()].flatMap((g) => g.targets.map((t) => t.__address__)).sort();
    try {
      d.start((gs) => {
        reads++;
        for (const g of gs) {
          if (g.targets.length) groups.set(g.source, g);
          else groups.delete(g.source);
        }
      });
      await waitFor(() => reads === 1);
      const edits = [[targets[0].address], [targets[1].address, targets[2].address]];
      for (const [i, want] of edits.entries()) {
        if (i === 0) mkdirSync(sub);
        writeFileSync(join(sub, 'a.yml'), `- targets: ${JSON.stringify(want)}\n`);
        vi.advanceTimersByTime(29_999);
        // Let any read that might have started finish: none may have.
        for (let k = 0; k < 20; k++) await new Promise((r) => setImmediate(r));
        expect(reads, `edit ${i}: read before the interval`).toBe(i + 1);
        vi.advanceTimersByTime(1);
        await waitFor(() => reads === i + 2);
        expect(addresses(), `edit ${i}`).toEqual([...want].sort());
      }
    } finally {
      vi.useRealTimers();
      await d.stop();
    }
  });

  it('keeps relabel-dropped targets with their discovered labels for the API', async () => {
    const { collectors: c, manager: m } = setup();
    writeFileSync(join(dir, 'a.yml'), `- targets: ['${targets[0].address}', '${targets[1].address}']\n  labels: {keep: 'no'}\n- targets: ['${targets[2].address}']\n  labels: {keep: 'yes'}\n`);
    const pools = parseConfig(`scrape_configs:
  - job_name: app
    file_sd_configs: [{files: ['${dir}/*.yml']}]
    relabel_configs: [{source_labels: [keep], regex: 'yes', action: keep}]
`).scrape_configs;
    await c.reload({ ...parseConfig('{}'), scrape_configs: pools });
    await m.apply(pools);
    await m.refreshAll();
    expect(instances(c)).toEqual([targets[2].address]);
    expect(c.droppedTargets().map((d) => d.discoveredLabels.__address__).sort()).toEqual([targets[0].address, targets[1].address].sort());
    expect(c.droppedTargets()[0]).toMatchObject({ scrapePool: 'app', discoveredLabels: { keep: 'no', job: 'app' } });
  });
});
