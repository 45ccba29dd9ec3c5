/**
 * The real Prometheus (Debian `prometheus`, 2.42) scrapes one Vigil twice:
 * its /metrics without errors, checking Vigil's hashmod relabeling against
 * Prometheus's, and its /federate (`honor_labels`), reading back the selected
 * series with Vigil's external labels. One Prometheus serves both: it scrapes
 * nothing before its first discovery tick, 5 s after it starts, a wait paid
 * once instead of once per test. (/federate's own answers are tested in
 * test/remote/federate.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashMod } from '../../src/collectors/relabel.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { startVigil, type Vigil } from '../../src/main.js';
import { waitFor } from '../helpers/net.js';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { requireBinary } from '../helpers/services.js';

const prometheus = requireBinary('prometheus', 'prometheus');
let dir = '';
let vigil: Vigil | undefined;
let prom: RunningPrometheus | undefined;
let address = '';

beforeAll(async () => {
  if (!prometheus) return;
  dir = mkdtempSync(join(tmpdir(), 'vigil-prom-'));
  const config = parseConfig(
    `global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s, external_labels: {site: vigil-a}}
storage: {path: data}
logs: {self: false}
scrape_configs:
  - job_name: self
    static_configs: [{targets: ['127.0.0.1:1']}]
`,
    join(dir, 'vigil.yml'),
    { env: {} },
  );
  vigil = await startVigil({ config, file: join(dir, 'vigil.yml'), baseDir: dir }, { listen: '127.0.0.1:0', logger: silentLogger() });
  const app = vigil.storage.appender();
  const now = Date.now();
  for (let i = 0; i < 5; i++) app.append({ __name__: 'fed_metric', job: 'fed', i: String(i) }, now, i * 1.25);
  await app.commit();
  address = new URL(vigil.url).host;
  prom = await startPrometheus({
    prometheus,
    config: `global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: vigil
    static_configs: [{targets: ['${address}']}]
    relabel_configs:
      - {source_labels: [__address__], target_label: shard, modulus: 1000, action: hashmod}
  - job_name: federate
    honor_labels: true
    metrics_path: /federate
    params: {'match[]': ['{job="fed"}', 'up{job="self"}']}
    static_configs: [{targets: ['${address}']}]
`,
  });
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await vigil?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface PromTarget {
  labels: Record<string, string>;
  scrapePool: string;
  health: string;
  lastError: string;
  scrapeUrl: string;
}

describe.skipIf(!prometheus)('Prometheus 2.42 scraping Vigil', () => {
  it('reports the Vigil target up with no scrape error', async () => {
    const target = await waitFor(async () => {
      const res = await fetch(`${prom!.url}/api/v1/targets?scrapePool=vigil`);
      const body = (await res.json()) as { data: { activeTargets: PromTarget[] } };
      const t = body.data.activeTargets.find((x) => x.scrapePool === 'vigil');
      return t && t.health !== 'unknown' ? t : undefined;
    }, 30_000, 250);
    expect(target.lastError).toBe('');
    expect(target.health).toBe('up');
    expect(target.scrapeUrl).toBe(`http://${address}/metrics`);
    // Prometheus is the oracle for hashmod.
    expect(target.labels.shard).toBe(String(hashMod(address, 1000)));
    // And it stored Vigil's metrics.
    const q = await fetch(`${prom!.url}/api/v1/query?query=${encodeURIComponent('count({job="vigil"})')}`);
    const result = (await q.json()) as { data: { result: Array<{ value: [number, string] }> } };
    expect(Number(result.data.result[0].value[1])).toBeGreaterThan(10);
  });

  it('federates: reads back the selected series with Vigil external labels and values', async () => {
    const got = await waitFor(async () => {
      const res = await fetch(`${prom!.url}/api/v1/query?${new URLSearchParams({ query: '{job=~"fed|self", __name__!="scrape_samples_scraped", __name__=~"fed_metric|up"}' })}`);
      const j = (await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      return j.data.result.length >= 6 ? j.data.result : undefined;
    }, 30_000, 250);
    const fed = got.filter((r) => r.metric.__name__ === 'fed_metric').sort((a, b) => Number(a.metric.i) - Number(b.metric.i));
    expect(fed.map((r) => [r.metric.i, r.metric.site, r.value[1]])).toEqual([0, 1, 2, 3, 4].map((i) => [String(i), 'vigil-a', String(i * 1.25)]));
    // honor_labels keeps Vigil's job label; instance="" from Vigil means Prometheus's own instance is not forced on.
    expect(fed[0].metric.job).toBe('fed');
    const up = got.find((r) => r.metric.__name__ === 'up' && r.metric.job === 'self');
    expect(up?.value[1]).toBe('0');
  });
});
