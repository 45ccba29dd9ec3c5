import { afterEach, describe, expect, it } from 'vitest';
import type { Notifier } from '../../../src/alerts/notify/index.js';
import { sourceLink } from '../../../src/alerts/notify/template-data.js';
import { waitFor } from '../../helpers/net.js';
import { startSlackStandIn, type SlackStandIn } from '../../helpers/slack.js';
import { startSmtpStandIn, type SmtpStandIn } from '../../helpers/smtp.js';
import { alert, ManualClock, notifier, step, tempDir } from './harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { sendResolved?: boolean; smtpAuth?: boolean; tls?: boolean; realClock?: boolean; defaultEmail?: boolean } = {}) {
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
${
          opts.defaultEmail
            ? ''
            : `        headers:
          Subject: '[CRITICAL] {{ .GroupLabels.alertname }}'
        text: "{{ range .Alerts }}Alert: {{ .Annotations.summary }}\\nDescription: {{ .Annotations.description }}\\n{{ end }}"
`
        }    slack_configs:
      - channel: '#alerts'
        title: '[CRITICAL] Alert'
        send_resolved: ${opts.sendResolved ?? true}
`;
  const clock = new ManualClock(Date.now());
  const n = await notifier(yaml, t.dir, { ...(opts.realClock ? {} : { clock }), dashboardUrl: 'https://grafana.test' });
  cleanups.push(() => n.stop());
  return { slack, smtp, n, dir: t.dir, clock };
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

async function fireAndResolve(n: Notifier, clock: ManualClock, slack: SlackStandIn, smtp: SmtpStandIn) {
  await n.send([alert(DB, { annotations: ANN, now: clock.now() })]);
  await step(clock, n, 50);
  expect([slack.received.length, smtp.messages.length]).toEqual([1, 1]);
  await n.send([alert(DB, { annotations: ANN, resolved: true, now: clock.now() })]);
  await step(clock, n, 300);
  expect([slack.received.length, smtp.messages.length]).toEqual([2, 2]);
}

describe('sourceLink', () => {
  const at = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
  it('pins a graph link to the hour around the firing time', () => {
    expect(sourceLink('http://v:9470/graph?g0.expr=up&g0.tab=1', at)).toBe('http://v:9470/graph?g0.expr=up&g0.tab=1&g0.range_input=1h&g0.end_input=2026-01-02%2003%3A19%3A05');
  });
  it('leaves links that set their own time, other links and relative URLs alone', () => {
    expect(sourceLink('http://v/graph?g0.expr=up&g0.end_input=2026-01-01%2000%3A00%3A00', at)).toBe('http://v/graph?g0.expr=up&g0.end_input=2026-01-01%2000%3A00%3A00');
    expect(sourceLink('http://v/graph?g0.expr=up&g0.range_input=6h', at)).toBe('http://v/graph?g0.expr=up&g0.range_input=6h&g0.end_input=2026-01-02%2003%3A19%3A05');
    expect(sourceLink('https://grafana.example/d/x?orgId=1', at)).toBe('https://grafana.example/d/x?orgId=1');
    expect(sourceLink('/graph?g0.expr=up', at)).toBeUndefined();
    expect(sourceLink('http://v/graph?g0.expr=up', 0)).toBe('http://v/graph?g0.expr=up');
  });
});

describe('Slack and email receivers', () => {
  it('one firing and one resolved message each, with the documented content', async () => {
    const { slack, smtp, n, clock } = await setup();
    const firedAt = clock.now();
    await fireAndResolve(n, clock, slack, smtp);
    // Several more group intervals and a repeat interval: nothing more is sent.
    for (let i = 0; i < 5; i++) await step(clock, n, 300);
    await step(clock, n, 3600_000);
    expect(slack.received).toHaveLength(2);
    expect(smtp.messages).toHaveLength(2);

    const [firing, resolved] = slack.received;
    expect(firing.channel).toBe('#alerts');
    expect(firing.attachments[0].title).toBe('[CRITICAL] Alert');
    expect(firing.attachments[0].color).toBe('#a30200');
    // Alertmanager's default subject: group label values, then the other common label values.
    const header = '[FIRING:1] DatabaseConnectionFailure postgres (postgres critical)';
    expect(firing.text).toBe(`[CRITICAL] Alert ${header}`);
    const blocks = firing.attachments[0].blocks;
    expect(blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: header } });
    const text = JSON.stringify(blocks);
    expect(text).toContain('*FIRING: Database connection failure*');
    expect(text).toContain('Cannot connect to PostgreSQL database');
    expect(text).toContain('<https://runbooks.example/db|Runbook>');
    expect(text).toContain('<https://grafana.example/d/db|Dashboard>');
    // The Source link charts the hour around the firing, however late it is opened.
    const end = encodeURIComponent(new Date(firedAt + 15 * 60_000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ''));
    expect(text).toContain(`<http://vigil.example:9470/graph?g0.expr=up&g0.range_input=1h&g0.end_input=${end}|Source>`);
    expect(text).toContain('http://vigil.example:9470/-/silence?filter=');
    expect(text).toContain('`job=postgres`');
    expect(resolved.attachments[0].color).toBe('#2eb886');
    expect(resolved.text).toMatch(/^\[CRITICAL\] Alert \[RESOLVED\] DatabaseConnectionFailure/);
    expect(resolved.attachments[0].blocks[0].text.text).toMatch(/^\[RESOLVED\] DatabaseConnectionFailure/);
    expect(JSON.stringify(resolved.attachments[0].blocks)).toContain('*RESOLVED: Database connection failure*');

    // The route's own Subject template wins; its text template is used as given.
    const m = smtp.messages[0];
    expect(m.parsed.subject).toBe('[CRITICAL] DatabaseConnectionFailure');
    expect(m.envelope.to).toEqual(['oncall@company.com', 'second@company.com']);
    expect(m.envelope.from).toBe('vigil@example.com');
    expect(m.parsed.text).toContain('Alert: Database connection failure\nDescription: Cannot connect to PostgreSQL database');
    expect(m.parsed.html).toContain('[FIRING] Database connection failure');
    expect(m.parsed.html).toContain('href="https://runbooks.example/db"');
    expect(m.parsed.html).toContain('href="https://grafana.example/d/db"');
    expect(smtp.messages[1].parsed.html).toContain('[RESOLVED]');
  });

  it('default email: status in subject and text, instance in the first line, runbook, dashboard, source and silence links', async () => {
    const { slack, smtp, n, clock } = await setup({ defaultEmail: true });
    await n.send([alert({ ...DB, instance: 'db-1:5432' }, { annotations: { ...ANN, dashboard: '/d/vigil-postgres' }, now: clock.now() })]);
    await step(clock, n, 50);
    await n.send([alert({ ...DB, instance: 'db-1:5432' }, { annotations: { ...ANN, dashboard: '/d/vigil-postgres' }, resolved: true, now: clock.now() })]);
    await step(clock, n, 300);
    expect(smtp.messages).toHaveLength(2);
    const [f, r] = smtp.messages.map((m) => m.parsed);
    expect(f.subject).toBe('[FIRING:1] DatabaseConnectionFailure postgres (db-1:5432 postgres critical)');
    expect(r.subject).toBe('[RESOLVED] DatabaseConnectionFailure postgres (db-1:5432 postgres critical)');
    const firstLine = (t: string | undefined) => (t ?? '').split('\n')[0];
    expect(firstLine(f.text)).toBe(f.subject);
    expect(firstLine(r.text)).toBe(r.subject);
    expect(f.text).toContain('[FIRING] Database connection failure on db-1:5432');
    expect(r.text).toContain('[RESOLVED] Database connection failure on db-1:5432');
    for (const m of [f, r]) {
      expect(m.text).toContain('Runbook: https://runbooks.example/db');
      // A Grafana path becomes a link under grafana.url.
      expect(m.text).toContain('Dashboard: https://grafana.test/d/vigil-postgres');
      expect(m.text).toContain('Source: http://vigil.example:9470/graph?g0.expr=up');
      expect(m.html).toContain('href="https://grafana.test/d/vigil-postgres"');
    }
    expect(f.text).toContain('Silence: http://vigil.example:9470/-/silence?filter=');
    expect(r.text).not.toContain('Silence:');
    const s = JSON.stringify(slack.received[0]);
    expect(s).toContain('<https://grafana.test/d/vigil-postgres|Dashboard>');
    expect(s).toContain('on db-1:5432');
  });

  it('escapes hostile label and annotation values in HTML email and Slack', async () => {
    const { slack, smtp, n, clock } = await setup();
    const evil = '<script>alert("x")</script>&<b>';
    await n.send([alert({ ...DB, instance: evil }, { annotations: { summary: evil, description: '<img src=x onerror=alert(1)>' }, now: clock.now() })]);
    await step(clock, n, 50);
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
    const { slack, smtp, n, clock } = await setup({ sendResolved: false });
    await n.send([alert(DB, { annotations: ANN, now: clock.now() })]);
    await step(clock, n, 50);
    await n.send([alert(DB, { annotations: ANN, resolved: true, now: clock.now() })]);
    for (let i = 0; i < 3; i++) await step(clock, n, 300);
    expect(slack.received).toHaveLength(1);
    expect(smtp.messages).toHaveLength(1);
  });

  it('SMTP with STARTTLS and auth', async () => {
    const { smtp, n, clock } = await setup({ smtpAuth: true, tls: true });
    await n.send([alert(DB, { annotations: ANN, now: clock.now() })]);
    await step(clock, n, 50);
    expect(smtp.messages[0].user).toBe('alerts');
    expect(smtp.messages[0].secure).toBe(true);
  });

  it('Slack 429 with Retry-After, 500s and a timeout: delivered exactly once after the fault clears', async () => {
    // Real time here: what is tested is that Retry-After is honoured on the wire.
    const { slack, smtp, n } = await setup({ realClock: true });
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
    await n.settled();
    expect(slack.received).toHaveLength(1);
    expect(smtp.messages).toHaveLength(1);
  });

  it('Slack timeout is retried and delivered once', async () => {
    const { slack, smtp, n, clock } = await setup();
    slack.failNext({ kind: 'hang' });
    await n.send([alert(DB, { annotations: ANN, now: clock.now() })]);
    await clock.advance(50);
    await waitFor(() => slack.attempts.length === 1 && smtp.messages.length === 1, 10_000);
    // The client's 10 s deadline passes on the notifier's clock; the retry (after its backoff) goes through.
    await clock.advance(10_000);
    // The failure surfaces over a few I/O turns; time moves in small steps until the retry is through.
    await waitFor(async () => {
      await clock.advance(100);
      return slack.received.length >= 1;
    }, 10_000);
    await n.settled();
    expect(slack.attempts.map((x) => x.answered)).toEqual(['hang', 200]);
    expect(slack.received).toHaveLength(1);
  });
});
