/**
 * The shipped alerting/alertmanager.yml works with and without SMTP
 * authentication and with TLS required or not, and names the variables the
 * README and .env.example document.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAlertmanagerConfig } from '../../../src/alerts/notify/config.js';
import { startSlackStandIn } from '../../helpers/slack.js';
import { startSmtpStandIn } from '../../helpers/smtp.js';
import { alert, ManualClock, notifier, step, tempDir } from './harness.js';

const FILE = new URL('../../../alerting/alertmanager.yml', import.meta.url).pathname;
const TEXT = readFileSync(FILE, 'utf8');
const VARS = ['SLACK_WEBHOOK_URL', 'SMTP_SMARTHOST', 'SMTP_FROM', 'SMTP_AUTH_USERNAME', 'SMTP_AUTH_PASSWORD', 'SMTP_REQUIRE_TLS', 'ONCALL_EMAIL', 'DEFAULT_WEBHOOK_URL'];

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('shipped alerting/alertmanager.yml', () => {
  it('reads exactly the documented variables, and the README and .env.example name them', () => {
    const used = [...new Set([...TEXT.matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1]))].sort();
    expect(used).toEqual([...VARS].sort());
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const env = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
    for (const v of VARS) {
      expect(readme, `README names ${v}`).toContain(v);
      expect(env, `.env.example names ${v}`).toMatch(new RegExp(`^#? ?${v}=`, 'm'));
    }
  });

  it('defaults: no SMTP authentication, TLS required', () => {
    const c = parseAlertmanagerConfig(TEXT, FILE, { SLACK_WEBHOOK_URL: 'https://hooks.slack.test/x' });
    expect(c.global.smtp_auth_username).toBeUndefined();
    expect(c.global.smtp_auth_password).toBeUndefined();
    expect(c.global.smtp_require_tls).toBe(true);
  });

  it.each([
    ['without authentication, plain SMTP', false],
    ['with authentication', true],
  ])('delivers %s', async (_name, auth) => {
    const smtp = await startSmtpStandIn({ auth: auth ? { user: 'alerts', pass: 's3cret' } : undefined });
    const slack = await startSlackStandIn();
    const t = tempDir();
    cleanups.push(() => smtp.close(), () => slack.close(), t.cleanup);
    const env: Record<string, string> = { SLACK_WEBHOOK_URL: slack.url, SMTP_SMARTHOST: smtp.smarthost, SMTP_REQUIRE_TLS: 'false', ONCALL_EMAIL: 'oncall@example.test' };
    if (auth) Object.assign(env, { SMTP_AUTH_USERNAME: 'alerts', SMTP_AUTH_PASSWORD: 's3cret' });
    const clock = new ManualClock();
    const n = await notifier('', t.dir, { clock, config: parseAlertmanagerConfig(TEXT, FILE, env) });
    cleanups.push(() => n.stop());
    await n.send([alert({ alertname: 'DatabaseConnectionFailure', severity: 'critical', service: 'postgres', instance: 'db:5432' }, { now: clock.now(), annotations: { summary: 'Database connection failure' } })]);
    await step(clock, n, 10_000);
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0].user).toBe(auth ? 'alerts' : undefined);
    expect(smtp.messages[0].envelope.to).toEqual(['oncall@example.test']);
    expect(smtp.messages[0].parsed.subject).toBe('[CRITICAL] [FIRING] DatabaseConnectionFailure on db:5432');
    expect(slack.received).toHaveLength(1);
  });
});
