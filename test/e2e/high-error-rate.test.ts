/**
 * HighErrorRate through the whole of startVigil: a loopback target serving the
 * planning API's metrics turns 5xx-heavy; the documented rule (window and `for`
 * shortened in a generated rule file, intervals from the generated config)
 * goes pending, fires after `for`, and resolves; ALERTS series follow. A
 * stop + start on the same data directory mid-`for` keeps the pending time.
 *
 * Time scale: the scrape and evaluation intervals, the rate window and `for`
 * are multiplied together by FACTOR (0.5: 250 ms intervals, a 4 s window of
 * sixteen scrapes, 3.5 s of `for`), so the expression and its semantics are
 * those of the unscaled 500 ms / 8 s / 7 s form, only the clock runs faster.
 *
 * The rate window must outlast the scrape gap of the restart: the restarted
 * instance's scrape thread starts afresh, which takes seconds on a loaded
 * machine, and a window left with fewer than two samples ends the alert
 * (rightly) and the test with it.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vigil } from '../../src/main.js';
import { waitFor } from '../helpers/net.js';
import { apiAlerts, baseConfig, e2eDir, getJson, instantQuery, type E2EDir } from './harness.js';

const FACTOR = 0.5;
const INTERVAL_MS = 500 * FACTOR;
const WINDOW_MS = 8000 * FACTOR;
const FOR_MS = 7000 * FACTOR;
/** Pending time before the restart: above the restart's own duration, so the restored activeAt predates it. */
const PENDING_BEFORE_RESTART_MS = 3000 * FACTOR;
/** `for` still to run when the instance stops, so it goes down with the alert pending. */
const FOR_LEFT_AT_STOP_MS = 3000 * FACTOR;

let server: Server;
let target = '';
let okTotal = 0;
let errTotal = 0;
let errorsPerScrape = 0;

function metricsText(): string {
  okTotal += 25;
  errTotal += errorsPerScrape;
  return [
    '# HELP http_requests_total Total HTTP requests.',
    '# TYPE http_requests_total counter',
    `http_requests_total{method="GET",endpoint="/api/v1/plans",status="200"} ${okTotal}`,
    `http_requests_total{method="GET",endpoint="/api/v1/plans",status="500"} ${errTotal}`,
    '# TYPE active_connections gauge',
    'active_connections 4',
    '',
  ].join('\n');
}

let d: E2EDir;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/metrics') res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metricsText());
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  target = `127.0.0.1:${(server.address() as { port: number }).port}`;
  d = e2eDir('errrate');
  d.write('rules/sical-backend.yml', {
    groups: [
      {
        name: 'sical-backend',
        rules: [
          {
            alert: 'HighErrorRate',
            expr: `rate(http_requests_total{status=~"5.."}[${WINDOW_MS}ms]) > 0.1`,
            for: `${FOR_MS}ms`,
            labels: { severity: 'critical', service: 'sical-backend' },
            annotations: { summary: 'High error rate detected', description: 'Error rate is {{ $value }} errors per second' },
          },
        ],
      },
    ],
  });
  d.write('vigil.yml', {
    ...baseConfig({ scrapeInterval: `${INTERVAL_MS}ms`, evaluationInterval: `${INTERVAL_MS}ms` }),
    scrape_configs: [{ job_name: 'sical-backend', static_configs: [{ targets: [target] }] }],
    rule_files: ['rules/*.yml'],
  });
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  d?.remove();
});

describe('HighErrorRate end to end through startVigil', () => {
  it('pending -> firing after for -> resolved, keeping the pending time across a restart', async () => {
    let vigil: Vigil | undefined = await d.start();
    try {
      // Healthy traffic first: scraped, evaluated, no alert.
      await waitFor(async () => (await instantQuery(vigil!.url, 'up{job="sical-backend"}'))[0]?.value[1] === '1', 20_000);
      await waitFor(async () => {
        const g = await getJson<{ data: { groups: Array<{ rules: Array<{ lastEvaluation: string; health: string }> }> } }>(`${vigil!.url}/api/v1/rules`);
        const r = g.data.groups[0]?.rules[0];
        return r && r.lastEvaluation.startsWith('20') && r.health === 'ok';
      }, 20_000);
      expect(await apiAlerts(vigil.url, 'HighErrorRate')).toEqual([]);

      // 10 errors per scrape: 40 errors/s, far above 0.1.
      errorsPerScrape = 10;
      const pending = await waitFor(async () => (await apiAlerts(vigil!.url, 'HighErrorRate')).find((a) => a.state === 'pending'), 20_000);
      expect(pending.labels).toMatchObject({ alertname: 'HighErrorRate', severity: 'critical', service: 'sical-backend', status: '500', job: 'sical-backend' });
      expect(pending.annotations.description).toMatch(/^Error rate is [\d.]+ errors per second$/);
      const activeBefore = Date.parse(pending.activeAt);
      await waitFor(async () => (await instantQuery(vigil!.url, 'ALERTS{alertname="HighErrorRate",alertstate="pending"}')).length === 1, 10_000);
      await waitFor(async () => (await instantQuery(vigil!.url, 'ALERTS_FOR_STATE{alertname="HighErrorRate"}')).length === 1, 10_000);

      // Let some pending time accumulate, then stop and start on the same data dir.
      await waitFor(() => Date.now() - activeBefore >= PENDING_BEFORE_RESTART_MS || undefined, 15_000);
      expect(Date.now() - activeBefore).toBeLessThan(FOR_MS - FOR_LEFT_AT_STOP_MS); // still mid-`for`
      const stopBegin = Date.now();
      await vigil.stop();
      vigil = undefined;
      const restartBegin = Date.now();
      vigil = await d.start();
      const restartDone = Date.now();

      // The first evaluation after the restart sees a fresh pending alert
      // (activeAt >= restartBegin); restoration from ALERTS_FOR_STATE after the
      // second evaluation gives back the pending time it had. Time spent down
      // does not count as pending (Prometheus's rule), so activeAt moves by
      // about the downtime only, never to the restart time.
      const restored = await waitFor(async () => {
        const a = (await apiAlerts(vigil!.url, 'HighErrorRate'))[0];
        return a && Date.parse(a.activeAt) < restartBegin ? { ...a, at: Date.parse(a.activeAt) } : undefined;
      }, 20_000);
      // ALERTS_FOR_STATE keeps whole seconds; allow that plus two evaluations.
      expect(restored.at).toBeGreaterThanOrEqual(Math.floor(activeBefore / 1000) * 1000);
      expect(restored.at).toBeLessThanOrEqual(activeBefore + (restartDone - stopBegin) + 3500);

      const firing = await waitFor(async () => (await apiAlerts(vigil!.url, 'HighErrorRate')).find((a) => a.state === 'firing'), 30_000);
      expect(Date.parse(firing.activeAt)).toBe(restored.at);
      await waitFor(async () => (await instantQuery(vigil!.url, 'ALERTS{alertname="HighErrorRate",alertstate="firing"}')).length === 1, 10_000);

      // Recovery: the alert resolves and its ALERTS series ends.
      errorsPerScrape = 0;
      await waitFor(async () => (await apiAlerts(vigil!.url, 'HighErrorRate')).length === 0, 30_000);
      await waitFor(async () => (await instantQuery(vigil!.url, 'ALERTS{alertname="HighErrorRate"}')).length === 0, 10_000);
      const series = await getJson<{ data: Array<Record<string, string>> }>(
        `${vigil.url}/api/v1/series?match[]=${encodeURIComponent('ALERTS{alertname="HighErrorRate"}')}&start=0`,
      );
      expect(series.data.map((s) => s.alertstate).sort()).toEqual(['firing', 'pending']);
    } finally {
      await vigil?.stop();
    }
  });
});
