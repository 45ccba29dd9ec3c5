/**
 * One incident, one page per receiver, through the whole of startVigil with
 * the shipped rules (rules/*.yml) and the shipped notification file
 * (alerting/alertmanager.yml: routes, inhibitions, templates).
 *
 * Time scale: every duration in those files (`for`, `keep_firing_for`, range
 * windows, group_wait, group_interval) is multiplied by a factor, and so are
 * the incident and the scrape and evaluation intervals (scrapes no shorter
 * than 500 ms): the expressions, labels, routes and inhibitions are the
 * shipped ones, only the clock runs faster.
 *
 * The PostgreSQL outage lasts VIGIL_TEST_PG_OUTAGE_S seconds, the factor being
 * that over the issue's 3 minutes: 7.5 s (1/24) by default, where the minute
 * between the cause firing and its effects (HealthCheckFailing's longer window)
 * is 2.5 s, five scrapes and ten evaluations; 180 (CI) runs the shipped files
 * unscaled, a real 3-minute outage. The 5xx burst runs at 1/120 (a 5m window is 2.5 s, twenty
 * 125 ms scrapes, as twenty 15 s scrapes fill the shipped 5m).
 * group_wait and group_interval keep a 1 s floor: they must stay above the
 * evaluation delay a loaded test machine adds, as the shipped 10 s are in
 * production.
 *
 * The two incidents run at once, each with its own Vigil, stand-ins and
 * directory: most of either is waiting for its scaled clock.
 */
import { createServer, type Server } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Vigil } from '../../src/main.js';
import { waitFor } from '../helpers/net.js';
import { hasPostgres, PG_URL } from '../helpers/services.js';
import { startSlackStandIn, type SlackStandIn } from '../helpers/slack.js';
import { startSmtpStandIn, type SmtpStandIn } from '../helpers/smtp.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import {
  apiAlerts,
  baseConfig,
  e2eDir,
  instantQuery,
  RUNNER_SELF_JOB,
  scaledAlertmanagerFile,
  scaledRuleFile,
  sleep,
  startWebhookStandIn,
  v2Alerts,
  type E2EDir,
} from './harness.js';

const ROOT = new URL('../../', import.meta.url).pathname;

interface Stands {
  slack: SlackStandIn;
  smtp: SmtpStandIn;
  webhook: Awaited<ReturnType<typeof startWebhookStandIn>>;
}

async function stands(): Promise<Stands> {
  return { slack: await startSlackStandIn(), smtp: await startSmtpStandIn(), webhook: await startWebhookStandIn() };
}

function writeShipped(d: E2EDir, s: Stands, factor: number, ruleFiles: string[]): void {
  for (const f of ruleFiles) d.write(`rules/${f}`, scaledRuleFile(`${ROOT}rules/${f}`, factor));
  d.write(
    'alerting/alertmanager.yml',
    scaledAlertmanagerFile(
      `${ROOT}alerting/alertmanager.yml`,
      {
        SLACK_WEBHOOK_URL: s.slack.url,
        SMTP_SMARTHOST: s.smtp.smarthost,
        SMTP_FROM: 'vigil@example.test',
        SMTP_REQUIRE_TLS: 'false',
        ONCALL_EMAIL: 'oncall@example.test',
        DEFAULT_WEBHOOK_URL: s.webhook.url,
      },
      factor,
      1000,
    ),
  );
}

const slackIn = (s: Stands, channel: string) => s.slack.received.filter((m) => m.channel === channel);
const headerOf = (m: Record<string, any>) => m.attachments[0].blocks[0].text.text as string;

/** Every page sent, as `receiver: header`, for a readable failure message. */
function pages(s: Stands): string[] {
  return [
    ...s.slack.received.map((m) => `slack ${m.channel}: ${headerOf(m)}`),
    ...s.smtp.messages.map((m) => `email ${m.envelope.to.join(',')}: ${m.parsed.subject}`),
    ...s.webhook.received.map((w) => `webhook: ${JSON.stringify((w as { groupKey?: string }).groupKey)}`),
  ];
}

/** Waits until the notifier holds no alert (resolutions included) and no flush is in flight: every page due has been sent. */
async function quiet(v: Vigil, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => ((await v2Alerts(v.url)).length === 0 && v.notifier!.groupCount() === 0) || undefined, timeoutMs);
  await v.notifier!.settled();
}

const PG_OUTAGE_S = Number(process.env.VIGIL_TEST_PG_OUTAGE_S ?? 7.5);

describe.skipIf(!(await hasPostgres()))('a PostgreSQL outage pages once per receiver', { concurrent: true }, () => {
  const FACTOR = PG_OUTAGE_S / 180;
  // Evaluations ten times a scaled minute. Scrapes as often down to 500 ms: their
  // timeout is their interval, and a PostgreSQL connection through the proxy or a
  // /health answer can take a few hundred ms on a loaded machine.
  const evaluation = `${Math.round(6000 * FACTOR)}ms`;
  const scrape = `${Math.max(500, Math.round(6000 * FACTOR))}ms`;
  // Timeouts sized for the 1/12 scale, stretched for longer outages.
  const scaled = (ms: number) => Math.max(ms, ms * FACTOR * 12);
  let s: Stands;
  let proxy: TcpProxy;
  let api: Server;
  let d: E2EDir;
  let vigil: Vigil | undefined;
  let dsn: string;

  beforeAll(async () => {
    s = await stands();
    const pgUrl = new URL(PG_URL);
    proxy = new TcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432));
    await proxy.start();
    const u = new URL(PG_URL);
    u.hostname = '127.0.0.1';
    u.port = String(proxy.port);
    dsn = u.toString();
    // The planning API's /health contract, answering from a real query through the same proxy.
    api = createServer((req, res) => {
      if (req.url !== '/health') return void res.writeHead(404).end();
      const c = new pg.Client({ connectionString: dsn, connectionTimeoutMillis: 300 });
      c.on('error', () => undefined);
      c.connect()
        .then(() => c.query('SELECT 1'))
        .then(
          () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"healthy","services":{"database":"healthy"}}'),
          () => res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"unhealthy","services":{"database":"unhealthy"}}'),
        )
        .finally(() => void c.end().catch(() => undefined));
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    d = e2eDir('onepage-db');
    writeShipped(d, s, FACTOR, ['sical-backend.yml', 'health.yml']);
    d.write('vigil.yml', {
      ...baseConfig({ scrapeInterval: scrape, evaluationInterval: evaluation }),
      scrape_configs: [RUNNER_SELF_JOB],
      postgres: { dsn, job_name: 'postgres' },
      health_checks: [{ job_name: 'sical-backend-health', url: `http://127.0.0.1:${(api.address() as { port: number }).port}/health` }],
      rule_files: ['rules/*.yml'],
      alerting: { config_file: 'alerting/alertmanager.yml' },
      grafana: { url: 'http://grafana.example.test:3000' },
    });
  });

  afterAll(async () => {
    await vigil?.stop();
    await proxy?.stop();
    await new Promise<void>((r) => (api ? api.close(() => r()) : r()));
    await s?.slack.close();
    await s?.smtp.close();
    await s?.webhook.close();
    d?.remove();
  });

  it('one firing and one resolved page per receiver; the health alerts are inhibited and shown so; a restart keeps it firing', { timeout: scaled(60_000) }, async ({ expect }) => {
    vigil = await d.start();
    await waitFor(async () => (await instantQuery(vigil!.url, 'pg_up'))[0]?.value[1] === '1' || undefined, 20_000);
    await waitFor(async () => (await instantQuery(vigil!.url, 'probe_success'))[0]?.value[1] === '1' || undefined, 20_000);

    const outageStart = Date.now();
    await proxy.cut();
    // As postgres_exporter: the collector still runs, PostgreSQL does not answer.
    await waitFor(async () => (await instantQuery(vigil!.url, 'up{job="postgres"} == 1 and on(job, instance) pg_up == 0')).length === 1 || undefined, scaled(20_000));

    // The cause fires and pages; what follows from it fires too, inhibited, and the API says so.
    const inhibited = await waitFor(async () => {
      const all = await v2Alerts(vigil!.url);
      const cause = all.find((a) => a.labels.alertname === 'DatabaseConnectionFailure' && a.status.state === 'active');
      const effects = all.filter((a) => ['DependencyUnhealthy', 'HealthCheckFailing'].includes(a.labels.alertname));
      if (!cause || effects.length < 2) return undefined;
      return effects.every((e) => e.status.state === 'suppressed' && e.status.inhibitedBy.includes(cause.fingerprint)) ? { cause, effects } : undefined;
    }, scaled(20_000));
    expect(inhibited.effects.map((e) => e.labels.alertname).sort()).toEqual(['DependencyUnhealthy', 'HealthCheckFailing']);
    await waitFor(() => slackIn(s, '#alerts').length >= 1 && s.smtp.messages.length >= 1, scaled(20_000));

    // A restart while it fires: firing at once in /api/v1/alerts, same activeAt.
    const before = (await apiAlerts(vigil.url, 'DatabaseConnectionFailure'))[0];
    expect(before.state).toBe('firing');
    await vigil.stop();
    vigil = await d.start();
    const after = await apiAlerts(vigil.url, 'DatabaseConnectionFailure');
    expect(after).toEqual([expect.objectContaining({ state: 'firing', activeAt: before.activeAt })]);

    // The outage lasts "3 minutes" on the scaled clock.
    await sleep(Math.max(0, outageStart + 180_000 * FACTOR - Date.now()));
    await proxy.restore();
    await waitFor(() => slackIn(s, '#alerts').length >= 2 && s.smtp.messages.length >= 2, scaled(30_000));
    await quiet(vigil, scaled(30_000));

    expect(pages(s), pages(s).join('\n')).toHaveLength(4);
    const [firing, resolved] = slackIn(s, '#alerts');
    expect(headerOf(firing)).toMatch(/^\[FIRING:1\] DatabaseConnectionFailure postgres \(/);
    expect(headerOf(resolved)).toMatch(/^\[RESOLVED\] DatabaseConnectionFailure postgres \(/);
    const [mailFiring, mailResolved] = s.smtp.messages.map((m) => m.parsed);
    expect(mailFiring.subject).toMatch(/^\[CRITICAL\] \[FIRING\] DatabaseConnectionFailure on /);
    expect(mailResolved.subject).toMatch(/^\[CRITICAL\] \[RESOLVED\] DatabaseConnectionFailure on /);
    expect(mailFiring.text).toMatch(/^FIRING: DatabaseConnectionFailure on /);
    expect(mailResolved.text).toMatch(/^RESOLVED: DatabaseConnectionFailure on /);
    // Links: the runbook under Vigil's URL (the listen address here: the test listens on port 0), the dashboard under grafana.url.
    for (const m of [mailFiring, mailResolved]) {
      expect(m.text).toMatch(/Runbook: http:\/\/127\.0\.0\.1:\d+\/runbooks\/DatabaseConnectionFailure\.md/);
      expect(m.text).toContain('Dashboard: http://grafana.example.test:3000/d/vigil-postgres');
    }
    for (const m of [firing, resolved]) {
      expect(JSON.stringify(m)).toMatch(/<http:\/\/127\.0\.0\.1:\d+\/runbooks\/DatabaseConnectionFailure\.md\|Runbook>/);
      expect(JSON.stringify(m)).toContain('<http://grafana.example.test:3000/d/vigil-postgres|Dashboard>');
    }
    expect(slackIn(s, '#monitoring')).toHaveLength(0);
    expect(s.webhook.received).toHaveLength(0);
  });
});

describe('a 5xx burst crossing both error rules pages once per receiver', { concurrent: true }, () => {
  const FACTOR = 1 / 120;
  let s: Stands;
  let target: Server;
  let d: E2EDir;
  let vigil: Vigil | undefined;
  let ok = 0;
  let errors = 0;
  let errorsPerScrape = 0;

  beforeAll(async () => {
    s = await stands();
    target = createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      ok += 25;
      errors += errorsPerScrape;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(
        [
          '# TYPE http_requests_total counter',
          `http_requests_total{method="GET",endpoint="/api/v1/plans",status="200"} ${ok}`,
          `http_requests_total{method="GET",endpoint="/api/v1/plans",status="500"} ${errors}`,
          '',
        ].join('\n'),
      );
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    d = e2eDir('onepage-5xx');
    writeShipped(d, s, FACTOR, ['sical-backend.yml']);
    d.write('vigil.yml', {
      ...baseConfig({ scrapeInterval: '125ms', evaluationInterval: '125ms' }),
      scrape_configs: [RUNNER_SELF_JOB, { job_name: 'sical-backend', static_configs: [{ targets: [`127.0.0.1:${(target.address() as { port: number }).port}`] }] }],
      rule_files: ['rules/*.yml'],
      alerting: { config_file: 'alerting/alertmanager.yml' },
    });
  });

  afterAll(async () => {
    await vigil?.stop();
    await new Promise<void>((r) => (target ? target.close(() => r()) : r()));
    await s?.slack.close();
    await s?.smtp.close();
    await s?.webhook.close();
    d?.remove();
  });

  it('HighErrorRatio pages; HighErrorRate fires inhibited; one resolved page', async ({ expect }) => {
    vigil = await d.start();
    await waitFor(async () => (await instantQuery(vigil!.url, 'up{job="sical-backend"}'))[0]?.value[1] === '1' || undefined, 20_000);
    errorsPerScrape = 10;
    const inhibited = await waitFor(async () => {
      const all = await v2Alerts(vigil!.url);
      const ratio = all.find((a) => a.labels.alertname === 'HighErrorRatio' && a.status.state === 'active');
      const rate = all.find((a) => a.labels.alertname === 'HighErrorRate');
      return ratio && rate?.status.inhibitedBy.includes(ratio.fingerprint) ? rate : undefined;
    }, 30_000);
    expect(inhibited.status.state).toBe('suppressed');
    await waitFor(() => slackIn(s, '#alerts').length >= 1 && s.smtp.messages.length >= 1, 20_000);
    errorsPerScrape = 0;
    await waitFor(() => slackIn(s, '#alerts').length >= 2 && s.smtp.messages.length >= 2, 30_000);
    await quiet(vigil);

    expect(pages(s), pages(s).join('\n')).toHaveLength(4);
    const [firing, resolved] = slackIn(s, '#alerts');
    expect(headerOf(firing)).toMatch(/^\[FIRING:1\] HighErrorRatio sical-backend/);
    expect(headerOf(resolved)).toMatch(/^\[RESOLVED\] HighErrorRatio sical-backend/);
    expect(s.smtp.messages.map((m) => m.parsed.subject)).toEqual(['[CRITICAL] [FIRING] HighErrorRatio', '[CRITICAL] [RESOLVED] HighErrorRatio']);
  });
});
