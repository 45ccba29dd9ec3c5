/**
 * The web UI in a real Chromium (Debian `chromium`, driven by playwright-core)
 * over a running Vigil with seeded data: a target whose label values carry
 * HTML and script, rules that fire, Slack notifications to a loopback stand-in.
 * Every page renders; label values and annotations show as text; no request
 * leaves Vigil's origin; the on-call flow from a notification's Silence and
 * Source links works signed in with the token. Screenshots (the README's
 * pictures in docs/) are taken only with VIGIL_UPDATE_SCREENSHOTS=1: they assert
 * nothing, and an ordinary run leaves the tree unmodified without paying for them.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { startVigil, type Vigil } from '../../src/main.js';
import { baseConfig, e2eDir, type E2EDir } from '../e2e/harness.js';
import { freePort, waitFor } from '../helpers/net.js';
import { firstLoadBytes } from '../helpers/page-weight.js';
import { requireBinary } from '../helpers/services.js';
import { startSlackStandIn, type SlackStandIn } from '../helpers/slack.js';
import { startSmtpStandIn, type SmtpStandIn } from '../helpers/smtp.js';

const chromiumPath = requireBinary('chromium', 'chromium');
const UPDATE_SCREENSHOTS = process.env.VIGIL_UPDATE_SCREENSHOTS === '1';
const DOCS = fileURLToPath(new URL('../../docs/', import.meta.url));
const TOKEN = 'ui-test-token-5d1e';
const EVIL_LABEL = '<script>window.__xss=1</script>';
const EVIL_SUMMARY = '<img src=x onerror="window.__xss=2"><b>bold?</b>';
const EVIL_ENDPOINT = '"><svg onload=window.__xss=3>';
const EVIL_TEAM = '<iframe srcdoc="<script>parent.__xss=5</script>"></iframe>';

let target: Server;
let errors = 0;
let d: E2EDir;
let vigil: Vigil;
let slack: SlackStandIn;
let smtp: SmtpStandIn;
let browser: Browser;
let launching: Promise<Browser> | undefined;
let origin = '';
const offOrigin: string[] = [];
const pageErrors: string[] = [];

function metrics(): string {
  errors += 10;
  return [
    '# HELP http_requests_total Total HTTP requests.',
    '# TYPE http_requests_total counter',
    `http_requests_total{endpoint="/api/v1/plans",status="200"} 1000`,
    `http_requests_total{endpoint=${JSON.stringify(EVIL_ENDPOINT)},status="500"} ${errors}`,
    '# HELP app_evil_info Labels with markup.',
    '# TYPE app_evil_info gauge',
    `app_evil_info{evil=${JSON.stringify(EVIL_LABEL)}} 1`,
    '',
  ].join('\n');
}

/** Links in Slack mrkdwn: <url|text>. */
function slackLinks(body: Record<string, any>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of JSON.stringify(body).matchAll(/<(https?:[^|>]+)\|([A-Za-z]+)>/g)) out[m[2]] = m[1].replace(/\\u0026/g, '&');
  return out;
}

/** The plain-text bodies of the emails sent for HighErrorRate while firing. */
const highErrorRateMails = () => smtp.messages.map((m) => m.parsed.text ?? '').filter((t) => t.includes('HighErrorRate') && t.includes('FIRING'));

const highErrorRateMessages = () => slack.received.filter((b) => JSON.stringify(b).includes('HighErrorRate') && JSON.stringify(b).includes('FIRING'));

async function newPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin + '/') && !u.startsWith('data:') && !u.startsWith('blob:')) offOrigin.push(u);
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (401|403|404)/.test(m.text())) pageErrors.push(m.text());
  });
  return page;
}

/** Saves the page as docs/<name>.png when the README's pictures are being updated. */
async function screenshot(page: Page, name: string): Promise<void> {
  if (UPDATE_SCREENSHOTS) await page.screenshot({ path: join(DOCS, `${name}.png`), fullPage: false });
}

/** Markup from labels/annotations must not have become elements or run. */
async function expectInert(page: Page): Promise<void> {
  expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
  expect(await page.locator('img[src="x"], svg[onload], iframe').count()).toBe(0);
}

describe.skipIf(!chromiumPath)('web UI in a real Chromium', () => {
  beforeAll(async () => {
    slack = await startSlackStandIn();
    smtp = await startSmtpStandIn();
    target = createServer((req, res) => {
      if (req.url === '/metrics') res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics());
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    d = e2eDir('ui');
    d.write('rules/ui.yml', {
      groups: [
        {
          name: 'ui',
          rules: [
            {
              alert: 'HighErrorRate',
              expr: 'rate(http_requests_total{status="500"}[1m]) > 0',
              labels: { severity: 'critical', service: 'sical-backend' },
              annotations: { summary: 'High error rate detected', runbook_url: `${origin}/runbooks/HighErrorRate.md`, dashboard: `${origin}/graph` },
            },
            {
              alert: 'MarkupInLabels',
              // Over a window, so one scrape missed on a loaded machine does not resolve it.
              expr: 'max_over_time(app_evil_info[1m]) == 1',
              labels: { severity: 'warning', note: EVIL_LABEL },
              annotations: { summary: EVIL_SUMMARY, description: `value {{ $labels.evil }}`, runbook_url: 'javascript:window.__xss=4' },
            },
            { alert: 'NeverFires', expr: 'vector(1) > 2', for: '5m' },
            { alert: 'StaysPending', expr: 'vector(1)', for: '1h', labels: { severity: 'warning' } },
            { alert: 'DependentWarning', expr: 'vector(1)', labels: { severity: 'info', service: 'sical-backend' }, annotations: { summary: 'Downstream of the error rate' } },
            { record: 'job:http_requests:rate5s', expr: 'sum by (job) (rate(http_requests_total[5s]))' },
          ],
        },
      ],
    });
    d.write('vigil.yml', {
      ...baseConfig({ scrapeInterval: '500ms', evaluationInterval: '500ms' }),
      server: { listen: `127.0.0.1:${port}`, token: TOKEN, external_url: origin },
      scrape_configs: [
        // A target label with markup: shown on the Targets and Status pages and carried by every alert of the job.
        { job_name: 'sical-backend', static_configs: [{ targets: [`127.0.0.1:${(target.address() as { port: number }).port}`], labels: { team: EVIL_TEAM } }] },
        { job_name: 'down', static_configs: [{ targets: ['127.0.0.1:1'] }] },
      ],
      rule_files: ['rules/*.yml'],
      alerting: {
        config: {
          global: { smtp_smarthost: smtp.smarthost, smtp_from: 'vigil@example.test', smtp_require_tls: false },
          route: { receiver: 'slack', group_by: ['alertname'], group_wait: '0s', group_interval: '1s', repeat_interval: '1s' },
          receivers: [{ name: 'slack', slack_configs: [{ api_url: slack.url, channel: '#oncall' }], email_configs: [{ to: 'oncall@example.test' }] }],
          inhibit_rules: [{ source_matchers: ['alertname="HighErrorRate"'], target_matchers: ['alertname="DependentWarning"'], equal: ['service'] }],
        },
      },
    });
    // Chromium starts while Vigil starts and seeds.
    launching = chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    launching.catch(() => undefined);
    vigil = await startVigil(loadConfig(d.configFile), { logger: silentLogger(), listen: `127.0.0.1:${port}` });
    // Seeded: both alerts firing and notified, scrapes of both jobs done.
    await waitFor(() => highErrorRateMessages().length > 0 && highErrorRateMails().length > 0 && slack.received.some((b) => JSON.stringify(b).includes('MarkupInLabels')), 30_000);
    browser = await launching;
  }, 60_000);

  afterAll(async () => {
    await (await launching?.catch(() => undefined))?.close();
    await vigil?.stop();
    await slack?.close();
    await smtp?.close();
    await new Promise<void>((r) => (target ? target.close(() => r()) : r()));
    d?.remove();
  });

  const pages: Array<{ path: string; name: string; ready: string; text: string[] }> = [
    { path: '/alerts', name: 'alerts', ready: '.alert', text: ['HighErrorRate', EVIL_LABEL, EVIL_SUMMARY, 'slack', 'StaysPending', 'pending'] },
    { path: '/targets', name: 'targets', ready: '.target', text: ['sical-backend', 'down', 'connect', EVIL_TEAM] },
    { path: '/rules', name: 'rules', ready: '.rule', text: ['HighErrorRate', 'job:http_requests:rate5s', 'NeverFires', EVIL_LABEL] },
    { path: `/graph?g0.expr=${encodeURIComponent('app_evil_info')}`, name: 'graph', ready: '[data-testid=table] td', text: [EVIL_LABEL, EVIL_TEAM] },
    { path: '/status', name: 'status', ready: 'pre.config', text: ['Build', 'goVersion', 'Runtime', 'storageRetention', 'Storage', 'Series by metric', 'Flags', 'config.file', '<secret>', EVIL_TEAM] },
    { path: '/silences', name: 'silences', ready: 'tr.silence', text: ['New silence', EVIL_LABEL, EVIL_SUMMARY] },
  ];

  /** A silence whose matcher value and comment carry markup, catching no alert; expired after the Silences page test. */
  async function createMarkupSilence(): Promise<string> {
    const now = Date.now();
    const res = await fetch(`${origin}/api/v2/silences`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        matchers: [
          { name: 'alertname', value: 'NoSuchAlert', isRegex: false, isEqual: true },
          { name: 'evil', value: EVIL_LABEL, isRegex: false, isEqual: true },
        ],
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + 3_600_000).toISOString(),
        createdBy: 'ui-test',
        comment: EVIL_SUMMARY,
      }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { silenceID: string }).silenceID;
  }

  for (const p of pages) {
    it(`renders ${p.path} with markup from labels shown as text`, async () => {
      const page = await newPage();
      const silenceId = p.name === 'silences' ? await createMarkupSilence() : undefined;
      try {
        const res = await page.goto(origin + p.path);
        expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
        await page.waitForSelector(p.ready, { timeout: 15_000 });
        // Pages fill in as their API answers arrive: wait for each expected text.
        for (const t of p.text) await expect.poll(() => page.locator('main').innerText(), { timeout: 10_000 }).toContain(t);
        const body = await page.locator('main').innerText();
        await expectInert(page);
        if (p.name === 'status') expect(body).not.toContain(TOKEN);
        if (p.name === 'alerts') {
          // The inhibited alert names the alert that inhibits it.
          await expect.poll(() => page.locator('.muted-by').allInnerTexts(), { timeout: 10_000 }).toContainEqual(expect.stringMatching(/inhibited by[\s\S]*alertname="HighErrorRate"/));
          // runbook_url "javascript:..." stays text, never a link
          expect(await page.locator('a[href^="javascript"]').count()).toBe(0);
          // Runbook and dashboard annotations are links.
          expect(await page.locator(`a[href="${origin}/runbooks/HighErrorRate.md"]`).count()).toBeGreaterThan(0);
          expect(await page.locator(`a[href="${origin}/graph"]`).count()).toBeGreaterThan(0);
        }
        if (p.name === 'targets') {
          // Discovered labels on request, with markup still text.
          await page.locator('tr.target', { hasText: 'sical-backend' }).locator('button:has-text("discovered labels")').first().click();
          await expect.poll(() => page.locator('.discovered').first().innerText()).toContain('__address__');
          await expectInert(page);
        }
        await screenshot(page, `ui-${p.name}`);
      } finally {
        await page.close();
        // The on-call tests below expect HighErrorRate's silence to be the only active one.
        if (silenceId) await fetch(`${origin}/api/v2/silence/${silenceId}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
      }
    });
  }

  it("the Alerts page's Silence button opens a silence pre-filled for that alert", async () => {
    const page = await newPage();
    try {
      await page.goto(`${origin}/alerts`);
      const row = page.locator('li.alert', { hasText: 'High error rate detected' }).first();
      await row.locator('a.button:has-text("Silence")').click();
      const input = page.locator('input[name=matchers]');
      await expect.poll(() => input.inputValue()).toContain('alertname="HighErrorRate"');
      expect(await input.inputValue()).toContain('severity="critical"');
      await page.waitForSelector('.preview li', { timeout: 10_000 });
      expect(await page.locator('.preview').innerText()).toContain('HighErrorRate');
      await expectInert(page);
    } finally {
      await page.close();
    }
  }, 30_000);

  it("on-call flow: the email's Silence link opens the same pre-filled form", async () => {
    const link = /^Silence: (\S+)$/m.exec(highErrorRateMails()[0])?.[1];
    expect(link).toMatch(new RegExp(`^${origin}/-/silence\\?filter=`));
    const page = await newPage();
    try {
      await page.goto(link!);
      const input = page.locator('input[name=matchers]');
      await expect.poll(() => input.inputValue()).toContain('alertname="HighErrorRate"');
      await page.waitForSelector('.preview li', { timeout: 10_000 });
      expect(await page.locator('.preview').innerText()).toContain('HighErrorRate');
      expect(await input.inputValue()).toBe(new URL(link!).searchParams.get('filter'));
      await expectInert(page);
    } finally {
      await page.close();
    }
  }, 30_000);

  it('on-call flow: the Silence link opens a pre-filled form; signed in, submitting it silences the alert and stops its notifications', async () => {
    const links = slackLinks(highErrorRateMessages()[0]);
    expect(links.Silence).toMatch(new RegExp(`^${origin}/-/silence\\?filter=`));
    const page = await newPage();
    try {
      await page.goto(links.Silence);
      const input = page.locator('input[name=matchers]');
      await expect.poll(() => input.inputValue()).toContain('alertname="HighErrorRate"');
      // Live preview shows the firing alert the matchers catch.
      await page.waitForSelector('.preview li', { timeout: 10_000 });
      expect(await page.locator('.preview').innerText()).toContain('HighErrorRate');
      // The token is needed: sign in on the form.
      await page.fill('input[name=token]', TOKEN);
      await page.click('form.signin button[type=submit]');
      await page.waitForSelector('form.signin', { state: 'detached' });
      const cookies = await page.context().cookies();
      const session = cookies.find((c) => c.name === 'vigil_session');
      expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
      await page.fill('input[name=createdBy]', 'oncall@example.com');
      await screenshot(page, 'ui-silence-form');
      await page.click('form.silence-form button[type=submit]');
      await page.waitForSelector('text=Silence saved', { timeout: 10_000 });

      const silenced = await waitFor(async () => {
        const res = await fetch(`${origin}/api/v2/alerts?filter=alertname%3D%22HighErrorRate%22`);
        const list = (await res.json()) as Array<{ status: { silencedBy: string[] } }>;
        return list.length && list.every((a) => a.status.silencedBy.length > 0) ? list : undefined;
      }, 10_000);
      expect(silenced.length).toBeGreaterThan(0);
      // Two repeat intervals (1s) of the other group pass: it notifies, so the
      // pipeline runs, and the silenced group sends nothing meanwhile. Counted once
      // no flush is in flight: one begun before the silence may still be sending.
      await vigil.notifier!.settled();
      const before = highErrorRateMessages().length;
      const mailsBefore = highErrorRateMails().length;
      const otherGroup = () => slack.received.filter((b) => JSON.stringify(b).includes('MarkupInLabels')).length;
      const otherBefore = otherGroup();
      await waitFor(() => otherGroup() >= otherBefore + 2, 20_000);
      expect(highErrorRateMessages().length).toBe(before);
      expect(highErrorRateMails().length).toBe(mailsBefore);

      await page.goto(`${origin}/alerts`);
      await page.waitForSelector('.muted-by');
      expect(await page.locator('main').innerText()).toMatch(/silenced by/);
      await expectInert(page);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('silences page: edit an existing silence, then expire it; the alert is no longer silenced', async () => {
    const page = await newPage();
    try {
      // The session from the on-call test belongs to another page context: sign in here.
      await page.goto(`${origin}/signin`);
      await page.fill('input[name=token]', TOKEN);
      await page.click('form.signin button[type=submit]');
      await page.waitForSelector('text=Signed in.');
      await page.goto(`${origin}/silences`);
      await page.waitForSelector('tr.silence');
      await page.click('tr.silence a:has-text("edit")');
      const input = page.locator('input[name=matchers]');
      await expect.poll(() => input.inputValue()).toContain('alertname="HighErrorRate"');
      await page.fill('textarea[name=comment]', 'extended by on-call');
      await page.click('form.silence-form button[type=submit]');
      await page.waitForSelector('text=Silence saved');
      const list = (await (await fetch(`${origin}/api/v2/silences`)).json()) as Array<{ comment: string; status: { state: string } }>;
      expect(list.filter((x) => x.status.state === 'active').map((x) => x.comment)).toEqual(['extended by on-call']);

      await page.goto(`${origin}/silences`);
      await page.waitForSelector('tr.silence');
      await page.click('tr.silence button:has-text("Expire")');
      await page.waitForSelector('tr.silence', { state: 'detached' });
      await waitFor(async () => {
        const res = await fetch(`${origin}/api/v2/alerts?filter=alertname%3D%22HighErrorRate%22`);
        const alerts = (await res.json()) as Array<{ status: { silencedBy: string[] } }>;
        return alerts.length && alerts.every((a) => a.status.silencedBy.length === 0) ? true : undefined;
      }, 10_000);
    } finally {
      await page.close();
    }
  }, 30_000);

  it('on-call flow: the Source link opens the graph with the expression, around the firing time', async () => {
    const msg = highErrorRateMessages()[0];
    const links = slackLinks(msg);
    expect(links.Source).toMatch(new RegExp(`^${origin}/graph\\?g0\\.expr=`));
    // Pinned to the firing: opened later, the link still charts that hour.
    expect(links.Source).toMatch(/[?&]g0\.end_input=\d{4}-\d\d-\d\d%20/);
    const alerts = (await (await fetch(`${origin}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ labels: Record<string, string>; activeAt: string }> } };
    const firingSince = Date.parse(alerts.data.alerts.find((a) => a.labels.alertname === 'HighErrorRate')!.activeAt);
    const page = await newPage();
    try {
      await page.goto(links.Source);
      await page.waitForSelector('[data-testid=chart] canvas', { timeout: 15_000 });
      expect(await page.locator('[data-testid=editor]').innerText()).toContain('rate(http_requests_total{status="500"}[1m]) > 0');
      const hint = await page.locator('p.hint').first().innerText();
      const [from, to] = [...hint.matchAll(/\d{4}-\d\d-\d\dT[\d:.]+Z/g)].map((m) => Date.parse(m[0]));
      expect(from).toBeLessThanOrEqual(firingSince);
      expect(to).toBeGreaterThanOrEqual(firingSince);
      // The chart holds the expression's series (uPlot's legend row after the time column).
      expect(hint).toMatch(/^[1-9]\d* series/);
      expect(await page.locator('[data-testid=chart] .u-legend .u-series').nth(1).innerText()).toContain('status="500"');
      expect(await page.locator('[data-testid=table] tbody tr').count()).toBeGreaterThan(0);
      // The URL is shareable: it carries the expression, range and end, and opens the same view.
      expect(page.url()).toContain('g0.expr=');
      expect(page.url()).toContain('g0.range_input=');
      expect(page.url()).toContain('g0.end_input=');
      const shared = await newPage();
      try {
        await shared.goto(page.url());
        await shared.waitForSelector('[data-testid=chart] canvas', { timeout: 15_000 });
        const [sharedFrom, sharedTo] = [...(await shared.locator('p.hint').first().innerText()).matchAll(/\d{4}-\d\d-\d\dT[\d:.]+Z/g)].map((m) => Date.parse(m[0]));
        expect(sharedFrom).toBeLessThanOrEqual(firingSince);
        expect(sharedTo).toBeGreaterThanOrEqual(firingSince);
        expect(await shared.locator('[data-testid=editor]').innerText()).toContain('rate(http_requests_total{status="500"}[1m]) > 0');
      } finally {
        await shared.close();
      }
      await screenshot(page, 'ui-graph-source');
    } finally {
      await page.close();
    }
  }, 30_000);

  it('the editor highlights PromQL, completes metric names from Vigil and lints', async () => {
    const page = await newPage();
    try {
      // Highlighting: label names, strings and durations styled apart from plain text.
      await page.goto(`${origin}/graph?g0.expr=${encodeURIComponent('sum(rate(http_requests_total{status="500"}[5m])) > 0')}`);
      await page.waitForSelector('.cm-content span');
      // Evaluated in the page (a string: this project's types have no DOM).
      const colours = (await page.evaluate(
        `Object.fromEntries([...document.querySelectorAll('.cm-content span')].map((el) => [el.textContent, getComputedStyle(el).color]))`,
      )) as Record<string, string>;
      const plain = (await page.evaluate(`getComputedStyle(document.querySelector('.cm-line')).color`)) as string;
      for (const token of ['"500"', 'status', '5m']) expect(colours[token], token).toBeDefined();
      expect(colours['"500"']).not.toBe(plain);
      expect(new Set([colours['"500"'], colours.status, colours['5m'], plain]).size).toBeGreaterThanOrEqual(3);

      await page.goto(`${origin}/graph`);
      await page.click('.cm-content');
      await page.keyboard.type('http_req');
      await page.waitForSelector('.cm-tooltip-autocomplete', { timeout: 10_000 });
      expect(await page.locator('.cm-tooltip-autocomplete').innerText()).toContain('http_requests_total');
      await page.keyboard.press('Escape');
      await page.keyboard.type('uests_total{');
      await page.keyboard.press('Escape');
      await page.keyboard.type(') +');
      await page.waitForSelector('.cm-lintRange-error, .cm-lintRange', { timeout: 10_000 });
    } finally {
      await page.close();
    }
  }, 30_000);

  it('first load stays under 500 KB compressed, the Graph page with its editor and chart included', async () => {
    for (const path of ['/alerts', `/graph?g0.expr=${encodeURIComponent('up')}`]) {
      const load = await firstLoadBytes(browser, origin + path);
      expect(load.requests, path).toBeGreaterThan(1);
      expect(load.bytes, path).toBeLessThan(500_000);
    }
  }, 30_000);

  it('no request left Vigil\'s origin and no page raised a script error', () => {
    expect(offOrigin).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
