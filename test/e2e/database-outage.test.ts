/**
 * PostgreSQL becomes unreachable: a TCP proxy in front of the real server is
 * the postgres collector's DSN. DatabaseConnectionFailure (the documented rule
 * with a short `for`) fires, the critical route sends exactly one Slack message
 * and one email to loopback stand-ins; Vigil is stopped and started again on
 * the same data directory while the alert fires (no duplicate, nothing lost);
 * the proxy comes back and exactly one resolved message of each kind follows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vigil } from '../../src/main.js';
import { waitFor } from '../helpers/net.js';
import { hasPostgres, PG_URL } from '../helpers/services.js';
import { startSlackStandIn, type SlackStandIn } from '../helpers/slack.js';
import { startSmtpStandIn, type SmtpStandIn } from '../helpers/smtp.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { apiAlerts, baseConfig, e2eDir, instantQuery, sleep, type E2EDir } from './harness.js';

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
              expr: 'up{job="postgres"} == 0',
              for: '2s',
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
            group_interval: '2s',
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

  it('fires once, survives a restart while firing, resolves once', async () => {
    vigil = await d.start();
    await waitFor(async () => (await instantQuery(vigil!.url, 'up{job="postgres"}'))[0]?.value[1] === '1', 20_000);
    await waitFor(async () => (await instantQuery(vigil!.url, 'pg_up'))[0]?.value[1] === '1', 10_000);
    expect(await apiAlerts(vigil.url, 'DatabaseConnectionFailure')).toEqual([]);

    await proxy.cut();
    await waitFor(async () => (await instantQuery(vigil!.url, 'up{job="postgres"}'))[0]?.value[1] === '0', 20_000);
    const firing = await waitFor(async () => (await apiAlerts(vigil!.url, 'DatabaseConnectionFailure')).find((a) => a.state === 'firing'), 20_000);
    expect(firing.labels).toMatchObject({ severity: 'critical', service: 'postgres', job: 'postgres' });

    await waitFor(() => slack.received.length >= 1 && smtp.messages.length >= 1, 20_000);
    expect(slack.received[0].channel).toBe('#alerts');
    expect(slackText(0)).toContain('[CRITICAL] Alert');
    expect(slackText(0)).toContain('[FIRING:1] DatabaseConnectionFailure');
    const mail = smtp.messages[0];
    expect(mail.envelope.to).toEqual(['oncall@example.test']);
    expect(mail.parsed.subject).toBe('[CRITICAL] DatabaseConnectionFailure');
    expect(mail.parsed.text).toContain('Alert: Database connection failure');
    expect(mail.parsed.text).toContain('Description: Cannot connect to PostgreSQL database');

    // Stop and start on the same data directory while the alert fires.
    await vigil.stop();
    vigil = undefined;
    vigil = await d.start();
    await waitFor(async () => (await apiAlerts(vigil!.url, 'DatabaseConnectionFailure')).find((a) => a.state === 'firing'), 20_000);
    // Several group intervals pass with the alert firing: the notification log
    // kept in the data directory says it was already sent.
    await sleep(5000);
    expect(slack.received.length).toBe(1);
    expect(smtp.messages.length).toBe(1);

    await proxy.restore();
    await waitFor(async () => (await apiAlerts(vigil!.url, 'DatabaseConnectionFailure')).length === 0, 20_000);
    await waitFor(() => slack.received.length >= 2 && smtp.messages.length >= 2, 20_000);
    expect(slackText(1)).toContain('[RESOLVED] DatabaseConnectionFailure');
    expect(smtp.messages[1].parsed.subject).toBe('[CRITICAL] DatabaseConnectionFailure');
    // Nothing more arrives afterwards (no duplicate resolved message).
    await sleep(4000);
    expect(slack.received.length).toBe(2);
    expect(smtp.messages.length).toBe(2);
    expect(slack.attempts.length).toBe(2);
  });

  it('a stop right as the alert fires (notification possibly still in group_wait) loses nothing and sends nothing twice', async () => {
    const before = { slack: slack.received.length, mail: smtp.messages.length };
    await proxy.cut();
    await waitFor(async () => (await apiAlerts(vigil!.url, 'DatabaseConnectionFailure')).find((a) => a.state === 'firing'), 20_000);
    await vigil!.stop();
    vigil = undefined;
    vigil = await d.start();
    // Whichever run sent it, the firing notification arrives, once.
    await waitFor(() => slack.received.length > before.slack && smtp.messages.length > before.mail, 20_000);
    await sleep(5000);
    expect(slack.received.length).toBe(before.slack + 1);
    expect(smtp.messages.length).toBe(before.mail + 1);
    expect(slackText(before.slack)).toContain('[FIRING:1] DatabaseConnectionFailure');

    await proxy.restore();
    await waitFor(() => slack.received.length > before.slack + 1 && smtp.messages.length > before.mail + 1, 30_000);
    await sleep(3000);
    expect(slack.received.length).toBe(before.slack + 2);
    expect(smtp.messages.length).toBe(before.mail + 2);
    expect(slackText(before.slack + 1)).toContain('[RESOLVED] DatabaseConnectionFailure');
  });
});
