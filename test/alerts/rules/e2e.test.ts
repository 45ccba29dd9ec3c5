/**
 * End to end: a real HTTP target serving the planning API's metrics is scraped
 * by the collectors into the persistent tsdb; the rule manager evaluates the
 * documented HighErrorRate rule (windows and `for` shortened by its rule file
 * and intervals, no fake clock) and sends alerts to a recording sink.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuleManager, type RuleManager } from '../../../src/alerts/rules/index.js';
import type { Alert } from '../../../src/alerts/types.js';
import { createCollectors, type Collectors } from '../../../src/collectors/index.js';
import { configSchema } from '../../../src/config/schema.js';
import { silentLogger } from '../../../src/logger.js';
import { createEngine } from '../../../src/promql/index.js';
import { openTsdb, type Tsdb } from '../../../src/tsdb/index.js';
import { waitFor } from '../../helpers/net.js';

const here = dirname(fileURLToPath(import.meta.url));

let server: Server;
let port = 0;
let errorsPerScrape = 0;
let ok = 0;
let errors = 0;

function metricsText(): string {
  ok += 50;
  errors += errorsPerScrape;
  return [
    '# TYPE http_requests_total counter',
    `http_requests_total{method="GET",endpoint="/plans",status="200"} ${ok}`,
    `http_requests_total{method="GET",endpoint="/plans",status="500"} ${errors}`,
    '# TYPE active_connections gauge',
    'active_connections 3',
    '',
  ].join('\n');
}

const dir = mkdtempSync(join(tmpdir(), 'vigil-rules-e2e-'));

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(metricsText());
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

interface Running {
  db: Tsdb;
  collectors: Collectors;
  manager: RuleManager;
  sent: Alert[];
  registry: Registry;
  stop(): Promise<void>;
}

async function startVigil(): Promise<Running> {
  const registry = new Registry();
  const logger = silentLogger();
  const db = await openTsdb({ dir, retentionMs: 3_600_000, registry });
  const config = configSchema.parse({
    global: { scrape_interval: '500ms', scrape_timeout: '400ms', evaluation_interval: '500ms' },
    scrape_configs: [{ job_name: 'sical-backend', static_configs: [{ targets: [`127.0.0.1:${port}`] }] }],
  });
  const collectors = createCollectors({ config, storage: db, registry, logger });
  const sent: Alert[] = [];
  const manager = createRuleManager({
    files: [join(here, 'fixtures/e2e-rules.yml')],
    baseDir: here,
    engine: createEngine(db),
    storage: db,
    sink: { send: async (alerts) => void sent.push(...alerts) },
    registry,
    logger,
    evaluationIntervalMs: 500,
    externalLabels: { cluster: 'test' },
    externalUrl: 'http://vigil.test:9470',
    resendDelayMs: 60_000,
  });
  await collectors.start();
  await manager.start();
  return {
    db,
    collectors,
    manager,
    sent,
    registry,
    stop: async () => {
      await manager.stop();
      await collectors.stop();
      await db.close();
    },
  };
}

const alertState = (m: RuleManager) => m.alerts().find((a) => a.labels.alertname === 'HighErrorRate')?.state;

describe('HighErrorRate end to end', () => {
  it('goes pending, fires after for, survives a restart mid-for, resolves', async () => {
    let v = await startVigil();
    // Healthy traffic: no alert.
    await waitFor(() => v.manager.groups()[0]?.lastEvaluation > 0, 20_000);
    expect(alertState(v.manager)).toBeUndefined();

    // Turn 5xx-heavy: 20 errors per 0.5s scrape = 40/s.
    errorsPerScrape = 20;
    await waitFor(() => alertState(v.manager) === 'pending', 20_000);
    const pendingSince = v.manager.alerts()[0].activeAt;

    // Kill and restart mid-`for`: the pending time must be kept, not reset.
    await v.stop();
    v = await startVigil();
    await waitFor(() => {
      const a = v.manager.alerts()[0];
      return a && (a.state === 'pending' || a.state === 'firing') ? a : undefined;
    }, 20_000);
    // Restoration happens after the second evaluation; then activeAt is the
    // old one shifted by at most the downtime (time down is not pending time).
    await waitFor(() => {
      const a = v.manager.alerts()[0];
      return a && a.activeAt < Date.now() - 1 && a.activeAt <= pendingSince + 5_000;
    }, 20_000);

    await waitFor(() => alertState(v.manager) === 'firing', 20_000);
    await waitFor(() => v.sent.find((a) => a.endsAt.getTime() > Date.now()), 20_000);
    const firing = v.sent.find((a) => a.endsAt.getTime() > Date.now())!;
    expect(firing.labels).toMatchObject({ alertname: 'HighErrorRate', severity: 'critical', service: 'sical-backend', cluster: 'test', status: '500' });
    expect(firing.annotations.description).toMatch(/^Error rate is \d+\.\d errors per second$/);
    expect(firing.generatorURL).toMatch(/^http:\/\/vigil\.test:9470\/graph\?g0\.expr=/);

    // ALERTS and ALERTS_FOR_STATE series are written back to storage.
    const q = v.db.querier();
    const alerts = q.series([{ type: '=', name: '__name__', value: 'ALERTS' }], 0, Date.now() + 1000);
    expect(alerts.some((l) => l.alertstate === 'firing' && l.alertname === 'HighErrorRate')).toBe(true);
    expect(q.series([{ type: '=', name: '__name__', value: 'ALERTS_FOR_STATE' }], 0, Date.now() + 1000).length).toBeGreaterThan(0);

    // Recover: the alert resolves and is sent with endsAt in the past.
    errorsPerScrape = 0;
    await waitFor(() => alertState(v.manager) === undefined, 30_000);
    await waitFor(() => v.sent.find((a) => a.endsAt.getTime() <= Date.now() && a.labels.alertname === 'HighErrorRate'), 20_000);

    const metrics = await v.registry.getSingleMetricAsString('prometheus_rule_group_iterations_total');
    expect(metrics).toMatch(/rule_group=".*e2e-rules\.yml;e2e"/);
    await v.stop();
  }, 120_000);
});
