/**
 * The real Prometheus (Debian `prometheus`) scrapes Vigil's /metrics without
 * errors; the same run checks Vigil's hashmod relabeling against Prometheus's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashMod } from '../../src/collectors/relabel.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { startVigil, type Vigil } from '../../src/main.js';
import { freePort, waitFor } from '../helpers/net.js';
import { requireBinary } from '../helpers/services.js';

const prometheus = requireBinary('prometheus', 'prometheus');
const dir = mkdtempSync(join(tmpdir(), 'vigil-prom-'));
let child: ChildProcess | undefined;
let vigil: Vigil | undefined;
afterAll(async () => {
  child?.kill('SIGKILL');
  await vigil?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface PromTarget {
  labels: Record<string, string>;
  health: string;
  lastError: string;
  scrapeUrl: string;
}

describe.skipIf(!prometheus)('Prometheus scraping Vigil', () => {
  it('reports the Vigil target up with no scrape error', async () => {
    const config = parseConfig(`storage: {path: '${join(dir, 'data')}'}\n`, join(dir, 'vigil.yml'), { env: {} });
    vigil = await startVigil({ config, file: join(dir, 'vigil.yml'), baseDir: dir }, { listen: '127.0.0.1:0', logger: silentLogger() });
    const address = new URL(vigil.url).host;
    const promPort = await freePort();
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: vigil
    static_configs: [{targets: ['${address}']}]
    relabel_configs:
      - {source_labels: [__address__], target_label: shard, modulus: 1000, action: hashmod}
`,
    );
    child = spawn(
      prometheus!,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'prom')}`, `--web.listen-address=127.0.0.1:${promPort}`],
      { stdio: 'ignore' },
    );
    const target = await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/targets`);
      const body = (await res.json()) as { data: { activeTargets: PromTarget[] } };
      const t = body.data.activeTargets[0];
      return t && t.health !== 'unknown' ? t : undefined;
    }, 30_000, 250);
    expect(target.lastError).toBe('');
    expect(target.health).toBe('up');
    expect(target.scrapeUrl).toBe(`http://${address}/metrics`);
    // Prometheus is the oracle for hashmod.
    expect(target.labels.shard).toBe(String(hashMod(address, 1000)));
    // And it stored Vigil's metrics.
    const q = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent('count({job="vigil"})')}`);
    const result = (await q.json()) as { data: { result: Array<{ value: [number, string] }> } };
    expect(Number(result.data.result[0].value[1])).toBeGreaterThan(10);
  });
});
