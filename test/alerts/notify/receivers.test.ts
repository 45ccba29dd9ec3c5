import { afterEach, describe, expect, it } from 'vitest';
import type { Notifier } from '../../../src/alerts/notify/index.js';
import { waitFor } from '../../helpers/net.js';
import { startSlackStandIn, type SlackStandIn } from '../../helpers/slack.js';
import { startSmtpStandIn, type SmtpStandIn } from '../../helpers/smtp.js';
import { alert, notifier, tempDir } from './harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { sendResolved?: boolean; smtpAuth?: boolean; tls?: boolean } = {}) {
  const slack = await startSlackStandIn();
  const smtp = await startSmtpStandIn({ auth: opts.smtpAuth ? { user: 'alerts', pass: 's3cret' } : undefined, tls: opts.tls });
  const t = tempDir();
  cleanups.push(() => slack.close(), () => smtp.close(), t.cleanup);
  const yaml = `
global:
  smtp_smarthost: ${smtp.smarthost}
  smtp_from: vigil@example.com
  smtp_require_tls: ${opts.tls ? 'true' : 'false'}
  ${opts.smtpAuth ? 'smtp_auth_username: alerts\n  smtp_auth_password: s3cret' : ''}
  slack_api_url: ${slack.url}
route:
  receiver: default
  group_by: [alertname, service]
  group_wait: 50ms
  group_interval: 300ms
  repeat_interval: 1h
  routes:
    - match: { severity: critical }
      receiver: critical-alerts
receivers:
  - name: default
  - name: critical-alerts
    email_configs:
      - to: oncall@company.com, second@company.com
        send_resolved: ${opts.sendResolved ?? true}
        ${opts.tls ? 'tls_config: { insecure_skip_verify: true }' : ''}
        headers:
          Subject: '[CRITICAL] {{ .GroupLabels.alertname }}'
        text: "{{ range .Alerts }}Alert: {{ .Annotations.summary }}\\nDescription: {{ .Annotations.description }}\\n{{ end }}"
    slack_configs:
      - channel: '#alerts'
        title: '[CRITICAL] Alert'
        send_resolved: ${opts.sendResolved ?? true}
`;
  const n = await notifier(yaml, t.dir);
  cleanups.push(() => n.stop());
  return { slack, smtp, n, dir: t.dir };
}

const DB = {
  alertname: 'DatabaseConnectionFailure',
  severity: 'critical',
  service: 'postgres',
  job: 'postgres',
};
const ANN = {
  summary: 'Database connection failure',
  description: 'Cannot connect to PostgreSQL database',
  runbook_url: 'https://runbooks.example/db',
  dashboard: 'https://grafana.example/d/db',
};

async function fireAndResolve(n: Notifier, slack: SlackStandIn, smtp: SmtpStandIn) {
  await n.send([alert(DB, { annotations: ANN })]);
  await waitFor(() => slack.received.length >= 1 && smtp.messages.length >= 1, 10_000);
  await n.send([alert(DB, { annotations: ANN, resolved: true })]);
  await waitFor(() => slack.received.length >= 2 && smtp.messages.length >= 2, 10_000);
}

describe('Slack and email receivers', () => {
  it('one firing and one resolved message each, with the documented content', async () => {
    const { slack, smtp, n } = await setup();
    await fireAndResolve(n, slack, smtp);
    // Several more group intervals: nothing more is sent.
    await new Promise((r) => setTimeout(r, 1000));
    expect(slack.received).toHaveLength(2);
    expect(smtp.messages).toHaveLength(2);

    const [firing, resolved] = slack.received;
    expect(firing.channel).toBe('#alerts');
    expect(firing.attachments[0].title).toBe('[CRITICAL] Alert');
    expect(firing.attachments[0].color).toBe('#a30200');
    const blocks = firing.attachments[0].blocks;
    expect(blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: '[FIRING:1] DatabaseConnectionFailure (postgres critical)' } });
    const text = JSON.stringify(blocks);
    expect(text).toContain('*Database connection failure*');
    expect(text).toContain('Cannot connect to PostgreSQL database');
    expect(text).toContain('<https://runbooks.example/db|Runbook>');
    expect(text).toContain('<https://grafana.example/d/db|Dashboard>');
    expect(text).toContain('http://vigil.example:9470/-/silence?filter=');
    expect(text).toContain('`job=postgres`');
    expect(resolved.attachments[0].color).toBe('#2eb886');
    expect(resolved.attachments[0].blocks[0].text.text).toMatch(/^\[RESOLVED\] DatabaseConnectionFailure/);

    const m = smtp.messages[0];
    expect(m.parsed.subject).toBe('[CRITICAL] DatabaseConnectionFailure');
    expect(m.envelope.to).toEqual(['oncall@company.com', 'second@company.com']);
    expect(m.envelope.from).toBe('vigil@example.com');
    expect(m.parsed.text).toContain('Alert: Database connection failure\nDescription: Cannot connect to PostgreSQL database');
    expect(m.parsed.html).toContain('<strong>Alert: Database connection failure</strong>');
    expect(m.parsed.html).toContain('href="https://runbooks.example/db"');
    expect(smtp.messages[1].parsed.html).toContain('[RESOLVED]');
  });

  it('escapes hostile label and annotation values in HTML email and Slack', async () => {
    const { slack, smtp, n } = await setup();
    const evil = '<script>alert("x")</script>&<b>';
    await n.send([alert({ ...DB, instance: evil }, { annotations: { summary: evil, description: '<img src=x onerror=alert(1)>' } })]);
    await waitFor(() => slack.received.length >= 1 && smtp.messages.length >= 1, 10_000);
    const html = smtp.messages[0].parsed.html as string;
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;&lt;b&gt;');
    // The text part carries the value as-is (plain text is not interpreted).
    expect(smtp.messages[0].parsed.text).toContain(evil);
    const s = JSON.stringify(slack.received[0]);
    expect(s).not.toContain('<script>');
    expect(s).toContain('&lt;script&gt;');
  });

  it('without send_resolved only the firing message goes out', async () => {
    const { slack, smtp, n } = await setup({ sendResolved: false });
    await n.send([alert(DB, { annotations: ANN })]);
    await waitFor(() => slack.received.length >= 1 && smtp.messages.length >= 1, 10_000);
    await n.send([alert(DB, { annotations: ANN, resolved: true })]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(slack.received).toHaveLength(1);
    expect(smtp.messages).toHaveLength(1);
  });

  it('SMTP with STARTTLS and auth', async () => {
    const { smtp, n } = await setup({ smtpAuth: true, tls: true });
    await n.send([alert(DB, { annotations: ANN })]);
    await waitFor(() => smtp.messages.length >= 1, 10_000);
    expect(smtp.messages[0].user).toBe('alerts');
    expect(smtp.messages[0].secure).toBe(true);
  });

  it('Slack 429 with Retry-After, 500s and a timeout: delivered exactly once after the fault clears', async () => {
    const { slack, smtp, n } = await setup();
    slack.failNext({ kind: 'status', status: 429, retryAfter: '1' }, { kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    smtp.failing = true;
    await n.send([alert(DB, { annotations: ANN })]);
    await waitFor(() => slack.received.length >= 1, 15_000);
    const a = slack.attempts;
    expect(a.map((x) => x.answered)).toEqual([429, 500, 503, 200]);
    // Retry-After: 1 was honoured before the next attempt.
    expect(a[1].at - a[0].at).toBeGreaterThanOrEqual(950);
    // SMTP outage: nothing yet; when it clears, the mail goes out once.
    expect(smtp.messages).toHaveLength(0);
    smtp.failing = false;
    await waitFor(() => smtp.messages.length >= 1, 15_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(slack.received).toHaveLength(1);
    expect(smtp.messages).toHaveLength(1);
  });

  it('Slack timeout is retried and delivered once', async () => {
    const { slack, n } = await setup();
    slack.failNext({ kind: 'hang' });
    // The integration's client timeout is 10s; keep the test bounded by a generous wait.
    await n.send([alert(DB, { annotations: ANN })]);
    await waitFor(() => slack.received.length >= 1, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(slack.attempts.map((x) => x.answered)).toEqual(['hang', 200]);
    expect(slack.received).toHaveLength(1);
  });
});
