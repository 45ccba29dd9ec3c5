import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createCollectors } from '../../src/collectors/index.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { createEngine } from '../../src/promql/engine.js';
import { openTsdb, type Tsdb } from '../../src/tsdb/index.js';
import { freePort, waitFor } from '../helpers/net.js';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { requireBinary, requireOrSkip } from '../helpers/services.js';

/**
 * A Go program built with Prometheus's client library exposes a native
 * histogram. Vigil scrapes it with its own scrape loop and worker pool
 * (`scrape_native_histograms: true`: protobuf negotiated) into its own store,
 * through a checkpoint and a restart; Prometheus 2.42 (with native
 * histograms switched on) scrapes the same program. Both must agree on
 * histogram_count, histogram_sum and histogram_quantile over stored data.
 */

const GOPATH_LIBS = '/usr/share/gocode';
const source = fileURLToPath(new URL('./fixtures/native-histogram-app.go', import.meta.url));
const go = requireBinary('go', 'golang-go');
const prometheusBin = requireBinary('prometheus');
const haveLib = requireOrSkip(
  'Go client library (golang-github-prometheus-client-golang-dev)',
  existsSync(join(GOPATH_LIBS, 'src/github.com/prometheus/client_golang/prometheus')),
);
const ready = !!go && !!prometheusBin && haveLib;

const EXACT = ['histogram_count(request_duration_seconds)', 'histogram_sum(request_duration_seconds)'];
const QUANTILES = [0.1, 0.5, 0.9, 0.99].map((q) => `histogram_quantile(${q}, request_duration_seconds)`);
/** The program's histograms use bucket factor 1.1, i.e. schema 3. */
const SCHEMA = 3;

/** Index of the exponential bucket holding v (> 0). */
function bucketOf(v: number): number {
  return Math.ceil(Math.log2(v) * 2 ** SCHEMA);
}

describe.skipIf(!ready)('native histograms from a Go client library program', () => {
  let dir: string;
  let app: ChildProcess | undefined;
  let appUrl: string;
  let prom: RunningPrometheus | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-nh-go-'));
    const pkg = join(dir, 'src/nhapp');
    mkdirSync(pkg, { recursive: true });
    copyFileSync(source, join(pkg, 'main.go'));
    const bin = join(dir, 'nhapp');
    const port = await freePort();
    appUrl = `http://127.0.0.1:${port}/metrics`;
    const buildAndRun = async () => {
      // Offline GOPATH build against Debian's packaged client library; the build cache outlives the test.
      await promisify(execFile)(go!, ['build', '-o', bin, '.'], {
        cwd: pkg,
        env: { ...process.env, GO111MODULE: 'off', GOPATH: `${GOPATH_LIBS}:${dir}`, GOCACHE: join(tmpdir(), 'vigil-gocache'), GOFLAGS: '' },
      });
      app = spawn(bin, ['-listen', `127.0.0.1:${port}`], { stdio: 'ignore' });
      await waitFor(async () => ((await fetch(appUrl).catch(() => undefined))?.ok ? true : undefined), 20_000);
    };
    // Prometheus 2.42 starts scraping at its first discovery tick, 5 s after it starts: started
    // first, it waits through the program's build and start instead of after them.
    const [started, built] = await Promise.allSettled([
      startPrometheus({
        prometheus: prometheusBin!,
        config: `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`,
        extraArgs: ['--enable-feature=native-histograms'],
      }),
      buildAndRun(),
    ]);
    if (started.status === 'fulfilled') prom = started.value;
    for (const r of [started, built]) if (r.status === 'rejected') throw r.reason;
  }, 300_000);

  afterAll(async () => {
    app?.kill('SIGKILL');
    await prom?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('agrees with Prometheus on count, sum and quantiles', { timeout: 120_000 }, async () => {
    // Vigil: its scrape loop, worker pool and store; three scrapes, a checkpoint and a restart (WAL replay) among them.
    const yaml = `global:\n  scrape_native_histograms: true\nscrape_configs:\n  - job_name: app\n    scrape_interval: 15s\n    static_configs:\n      - targets: ['${new URL(appUrl).host}']\n`;
    const config = parseConfig(yaml, 'test.yml', { env: {} });
    const tsdbOpts = { dir: join(dir, 'vigil-data'), retentionMs: 24 * 3600_000, checkpointIntervalMs: 0 };
    let db: Tsdb = await openTsdb(tsdbOpts);
    const scrape = async (times: number) => {
      const collectors = createCollectors({ config, storage: db, registry: new Registry(), logger: silentLogger() });
      try {
        for (let i = 0; i < times; i++) await collectors.scrapeAll();
      } finally {
        await collectors.stop();
      }
    };
    await scrape(2);
    db.checkpoint();
    await db.close();
    db = await openTsdb(tsdbOpts);
    await scrape(1);
    const evalAt = Date.now();
    const stored = db.querier().select([{ type: '=', name: '__name__', value: 'request_duration_seconds' }], 0, evalAt);
    expect(stored).toHaveLength(1);
    expect(stored[0].h?.filter((h) => h !== undefined), 'stored native histogram samples').toHaveLength(3);
    const engine = createEngine(db);

    const promQuery = async (expr: string): Promise<number | undefined> => {
      const r = await fetch(`${prom!.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await r.json()) as { data: { result: Array<{ value: [number, string] }> } };
      return body.data.result.length === 1 ? Number(body.data.result[0].value[1]) : undefined;
    };
    await waitFor(() => promQuery(EXACT[0]), 60_000, 250);

    const both = async (expr: string): Promise<[number, number]> => {
      const ours = await engine.instantQuery(expr, evalAt);
      if (ours.value.resultType !== 'vector') throw new Error('expected a vector');
      expect(ours.value.result, expr).toHaveLength(1);
      const theirs = await promQuery(expr);
      expect(theirs, `${expr} from Prometheus`).toBeDefined();
      return [ours.value.result[0].v, theirs!];
    };
    for (const expr of EXACT) {
      const [ours, theirs] = await both(expr);
      expect(ours, expr).toBeCloseTo(theirs, 9);
    }
    // Prometheus 2.42 interpolates linearly inside the bucket; 3.x, and Vigil with it,
    // on a log scale. Both must land in the same bucket, a few percent apart at most.
    for (const expr of QUANTILES) {
      const [ours, theirs] = await both(expr);
      expect(bucketOf(ours), expr).toBe(bucketOf(theirs));
      expect(Math.abs(ours / theirs - 1), expr).toBeLessThan(2 ** (1 / 2 ** SCHEMA) - 1);
    }
    await db.close();
  });
});
