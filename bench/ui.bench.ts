/**
 * Web UI benchmark in Chromium: first-load size of the UI (bytes on the wire,
 * compressed) beside Prometheus 2.42's own UI, and render times of the Alerts
 * page with 10k active alerts (500 notification groups, real notifier behind
 * the Alertmanager API), the Targets page with 5k targets, the Silences page
 * with 1k silences, and how long a filter keystroke takes to re-render.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { Registry } from 'prom-client';
import { parseAlertmanagerConfig } from '../src/alerts/notify/config.js';
import { createNotifier } from '../src/alerts/notify/index.js';
import type { Alert } from '../src/alerts/types.js';
import { alertmanagerApiRoutes } from '../src/api/alertmanager-api.js';
import { rulesApiRoutes } from '../src/api/rules-api.js';
import { createServer } from '../src/api/server.js';
import { targetsApiRoutes } from '../src/api/targets-api.js';
import { uiRoutes } from '../src/api/ui.js';
import type { TargetStatus } from '../src/collectors/index.js';
import { silentLogger } from '../src/logger.js';
import { firstLoadBytes } from '../test/helpers/page-weight.js';
import { startPrometheus } from '../test/helpers/prometheus.js';
import { buildWeb } from '../web/build.mjs';
import { anchorBinary } from './anchor.js';
import type { BenchTable } from './table.js';

const ALERTS = 10_000;
const GROUPS = 500;
const TARGETS = 5_000;
const SILENCES = 1_000;
const RUNS = 3;
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function targets(): TargetStatus[] {
  const now = Date.now();
  return Array.from({ length: TARGETS }, (_, i) => ({
    labels: { job: `pool-${i % 50}`, instance: `10.0.${Math.floor(i / 250)}.${i % 250}:9100`, zone: `z${i % 3}` },
    discoveredLabels: { __address__: `10.0.${Math.floor(i / 250)}.${i % 250}:9100`, __meta_zone: `z${i % 3}` },
    scrapePool: `pool-${i % 50}`,
    scrapeTimeoutMs: 10_000,
    scrapeUrl: `http://10.0.${Math.floor(i / 250)}.${i % 250}:9100/metrics`,
    health: i % 17 === 0 ? 'down' : 'up',
    lastError: i % 17 === 0 ? 'connect ECONNREFUSED' : '',
    lastScrape: now - (i % 15) * 1000,
    scrapeIntervalMs: 15_000,
  }));
}

export default async function uiBench(): Promise<BenchTable[]> {
  const chromium_ = anchorBinary('chromium', 'chromium');
  if ('reason' in chromium_) {
    return [{ title: 'Web UI', columns: ['measure', 'value'], rows: [['all', `not measured: ${chromium_.reason}`]] }];
  }
  const chromiumPath = chromium_.path;
  const build = await buildWeb();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-uibench-'));
  const notifier = await createNotifier({
    config: parseAlertmanagerConfig(`
route: { receiver: devnull, group_by: ['alertname'], group_wait: 1h, group_interval: 1h, repeat_interval: 4h }
receivers: [{ name: devnull }]
`),
    dataDir: dir,
    registry: new Registry(),
    logger: silentLogger(),
    externalUrl: 'http://v',
  });
  await notifier.start();
  const now = Date.now();
  const batch: Alert[] = [];
  for (let i = 0; i < ALERTS; i++) {
    batch.push({
      labels: { alertname: `Alert${i % GROUPS}`, instance: `host-${i}:9100`, severity: i % 3 ? 'warning' : 'critical', service: `svc-${i % 40}` },
      annotations: { summary: `Something is wrong on host-${i}`, runbook_url: `http://runbooks/${i % GROUPS}` },
      startsAt: new Date(now - 60_000),
      endsAt: new Date(now + 3600_000),
    });
  }
  for (let i = 0; i < batch.length; i += 1000) await notifier.send(batch.slice(i, i + 1000));
  for (let i = 0; i < SILENCES; i++) {
    await notifier.putSilence({ matchers: [{ name: 'instance', value: `other-${i}`, isRegex: false, isEqual: true }], startsAt: now, endsAt: now + 3600_000, createdBy: 'bench', comment: `silence ${i}` });
  }
  const app = createServer({ logger: silentLogger(), registry: new Registry(), bodyLimit: 1 << 20, isReady: () => true });
  await app.register(uiRoutes({}));
  await app.register(alertmanagerApiRoutes({ notifier }));
  await app.register(rulesApiRoutes({ manager: { groups: () => [], alerts: () => [] } }));
  const list = targets();
  await app.register(targetsApiRoutes({ collectors: () => ({ targets: () => list }) as never }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

  const browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
  const prometheusBin = anchorBinary('prometheus', 'prometheus');
  try {
    const vigilLoad = await firstLoadBytes(browser, `${base}/alerts`);
    let promLoad = 'reason' in prometheusBin ? `not measured: ${prometheusBin.reason}` : '';
    if ('path' in prometheusBin) {
      const prom = await startPrometheus({ prometheus: prometheusBin.path });
      try {
        // Debian's Prometheus 2.42 serves only its classic UI (/classic/graph).
        const r = await firstLoadBytes(browser, `${prom.url}/classic/graph`);
        promLoad = `${(r.bytes / 1024).toFixed(1)} KiB in ${r.requests} requests (classic UI, /classic/graph)`;
      } finally {
        await prom.stop();
      }
    }

    const render = async (path: string, selector: string, expectCount: (n: number) => boolean) => {
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const t0 = performance.now();
        await page.goto(base + path);
        await page.waitForSelector(selector, { timeout: 120_000 });
        times.push(performance.now() - t0);
        if (!expectCount(await page.locator(selector).count())) throw new Error(`unexpected row count on ${path}`);
        await page.close();
      }
      return median(times);
    };
    const filterKeystroke = async (path: string, ready: string, text: string) => {
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        await page.goto(base + path);
        await page.waitForSelector(ready, { timeout: 120_000 });
        // Time from the input event to the next painted frame after the re-render.
        // Runs in the page (typed loosely: this file is checked without the DOM library).
        const ms = await page.evaluate(async (t: string) => {
          const g = globalThis as any;
          const input = g.document.querySelector('input[type=search]');
          const t0 = performance.now();
          input.value = t;
          input.dispatchEvent(new g.Event('input', { bubbles: true }));
          await new Promise((r) => g.requestAnimationFrame(() => setTimeout(r, 0)));
          return performance.now() - t0;
        }, text);
        times.push(ms);
        await page.close();
      }
      return median(times);
    };

    const alertsMs = await render('/alerts', '.alert', (n) => n > 0);
    const targetsMs = await render('/targets', '.target', (n) => n > 0);
    const silencesMs = await render('/silences', '.silence', (n) => n > 0);
    const alertsFilterMs = await filterKeystroke('/alerts', '.alert', 'host-42');
    const targetsFilterMs = await filterKeystroke('/targets', '.target', '10.0.3.');

    return [
      {
        title: 'Web UI first load (bytes on the wire, compressed)',
        columns: ['UI', 'first load'],
        rows: [
          ['Vigil /alerts', `${(vigilLoad.bytes / 1024).toFixed(1)} KiB in ${vigilLoad.requests} requests (build: ${(build.firstLoadBrotliBytes / 1024).toFixed(1)} KiB brotli); then ${(vigilLoad.apiBytes / 1024).toFixed(1)} KiB of API data for 10k alerts (gzip)`],
          ['Prometheus 2.42', promLoad],
        ],
        notes: [
          `Goal: UI first load < 500 KB compressed -> ${vigilLoad.bytes < 500 * 1000 ? 'met' : 'not met'} (${(vigilLoad.bytes / 1000).toFixed(1)} KB)`,
          'the data figure depends on the alerts shown',
        ],
      },
      {
        title: `Web UI render times in Chromium (median of ${RUNS}, navigation to first rows)`,
        columns: ['page', 'data', 'render (ms)'],
        rows: [
          ['Alerts', `${ALERTS.toLocaleString('en-US')} active alerts in ${GROUPS} groups`, alertsMs],
          ['Targets', `${TARGETS.toLocaleString('en-US')} targets in 50 pools`, targetsMs],
          ['Silences', `${SILENCES.toLocaleString('en-US')} active silences`, silencesMs],
          ['Alerts: filter keystroke', 'input → next frame', alertsFilterMs],
          ['Targets: filter keystroke', 'input → next frame', targetsFilterMs],
        ],
        notes: [
          'pages render the first rows of each group and list (more on request), so the DOM stays small whatever the count',
          'Prometheus side not measured: its Debian build serves only the classic UI, and a 5k-target comparison needs 5k live scrape targets',
        ],
      },
    ];
  } finally {
    await browser.close();
    await app.close();
    await notifier.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
