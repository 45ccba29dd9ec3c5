/**
 * PostgreSQL becomes unreachable (a TCP proxy in front of the real server is
 * the postgres collector's DSN) and Vigil stops right as
 * DatabaseConnectionFailure fires, possibly while its notification waits in
 * group_wait: after the start on the same data directory the firing message
 * arrives once, and the resolved one once. The full outage with the shipped
 * rules and inhibitions is one-page-per-incident.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vigil } from '../../src/main.js';
import { waitFor } from '../helpers/net.js';
import { hasPostgres, PG_URL } from '../helpers/services.js';
import { startSlackStandIn, type SlackStandIn } from '../helpers/slack.js';
import { startSmtpStandIn, type SmtpStandIn } from '../helpers/smtp.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { apiAlerts, baseConfig, e2eDir, instantQuery, type E2EDir } from './harness.js';

const pgAvailable = await hasPostgres();

describe.skipIf(!pgAvailable)('DatabaseConnectionFailure end to end', () => {
  let slack: SlackStandIn;
  let smtp: SmtpStandIn;
  let proxy: TcpProxy;
  let d: E2EDir;
  let vigil: Vigil | undefined;

  beforeAll(async () => {
    slack = await startSlackStandIn();
    smtp = await startSmtpStandIn();
    const pg = new URL(PG_URL);
    proxy = new TcpProxy(pg.hostname, Number(pg.port || 5432));
    await proxy.start();
    const dsn = new URL(PG_URL);
    dsn.hostname = '127.0.0.1';
    dsn.port = String(proxy.port);

    d = e2eDir('dbdown');
    d.write('rules/sical-backend.yml', {
      groups: [
        {
          name: 'sical-backend',
          rules: [
            {
              alert: 'DatabaseConnectionFailure',
              expr: 'up{job="postgres"} == 0 or pg_up{job="postgres"} == 0',
              for: '1s',
              labels: { severity: 'critical', service: 'postgres' },
              annotations: { summary: 'Database connection failure', description: 'Cannot connect to PostgreSQL database' },
            },
          ],
        },
      ],
    });
    d.write('vigil.yml', {
      ...baseConfig({ scrapeInterval: '500ms', evaluationInterval: '500ms' }),
      postgres: { dsn: dsn.toString(), job_name: 'postgres' },
      rule_files: ['rules/*.yml'],
      alerting: {
        config: {
          global: { smtp_smarthost: smtp.smarthost, smtp_from: 'vigil@example.test', smtp_require_tls: false, slack_api_url: slack.url },
          route: {
            group_by: ['alertname', 'service'],
            group_wait: '1s',
            group_interval: '1s',
            repeat_interval: '1h',
            receiver: 'default',
            routes: [
              { match: { severity: 'critical' }, receiver: 'critical-alerts' },
              { match: { severity: 'warning' }, receiver: 'warning-alerts' },
            ],
          },
          receivers: [
            { name: 'default', slack_configs: [{ channel: '#default', send_resolved: true }] },
            {
              name: 'critical-alerts',
              email_configs: [
                {
                  to: 'oncall@example.test',
                  send_resolved: true,
                  headers: { Subject: '[CRITICAL] {{ .GroupLabels.alertname }}' },
                  text: '{{ range .Alerts }}Alert: {{ .Annotations.summary }}\nDescription: {{ .Annotations.description }}\n{{ end }}',
                },
              ],
              slack_configs: [{ channel: '#alerts', title: '[CRITICAL] Alert', send_resolved: true }],
            },
            { name: 'warning-alerts', slack_configs: [{ channel: '#monitoring', title: '[WARNING] Alert', send_resolved: true }] },
          ],
        },
      },
    });
  });

  afterAll(async () => {
    await vigil?.stop();
    await proxy?.stop();
    await slack?.close();
    await smtp?.close();
    d?.remove();
  });

  const slackText = (i: number) => JSON.stringify(slack.received[i]);

  it('a stop right as the alert fires (notification possibly still in group_wait) loses nothing and sends nothing twice', async () => {
    vigil = await d.start();
    await waitFor(async () => (await instantQuery(vigil!.url, 'pg_up'))[0]?.value[1] === '1' || undefined, 20_000);
    const before = { slack: slack.received.length, mail: smtp.messages.length };
    await proxy.cut();
    await waitFor(async () => (await apiAlerts(vigil!.url, 'DatabaseConnectionFailure')).find((a) => a.state === 'firing'), 20_000);
    await vigil!.stop();
    vigil = undefined;
    vigil = await d.start();
    // Whichever run sent it, the firing notification arrives, once.
    await waitFor(() => slack.received.length > before.slack && smtp.messages.length > before.mail, 20_000);
    expect(slackText(before.slack)).toContain('[FIRING:1] DatabaseConnectionFailure');

    await proxy.restore();
    await waitFor(() => slack.received.length > before.slack + 1 && smtp.messages.length > before.mail + 1, 30_000);
    // Once the notifier holds nothing more, every message due has gone out: a duplicate would be counted here.
    await waitFor(() => vigil!.notifier!.groupCount() === 0 || undefined, 30_000);
    await vigil!.notifier!.settled();
    expect(slack.received.length).toBe(before.slack + 2);
    expect(smtp.messages.length).toBe(before.mail + 2);
    expect(slackText(before.slack + 1)).toContain('[RESOLVED] DatabaseConnectionFailure');
  });
});
