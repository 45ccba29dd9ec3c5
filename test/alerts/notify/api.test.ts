import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notifier } from '../../../src/alerts/notify/index.js';
import { alertmanagerApiRoutes } from '../../../src/api/alertmanager-api.js';
import { createServer } from '../../../src/api/server.js';
import { silentLogger } from '../../../src/logger.js';
import { alertmanagerApiVersion, VIGIL_VERSION } from '../../../src/version.js';
import { requireBinary } from '../../helpers/services.js';
import { alert, notifier, tempDir } from './harness.js';

const exec = promisify(execFile);
const amtool = requireBinary('amtool', 'prometheus-alertmanager');
const TOKEN = 'test-token-123';

let app: FastifyInstance;
let n: Notifier;
let base = '';
let httpConfig = '';
const t = tempDir();

beforeAll(async () => {
  n = await notifier(
    `
global:
  smtp_smarthost: 127.0.0.1:1
  smtp_from: a@b
  smtp_auth_password: hunter2
  slack_api_url: https://hooks.slack.com/services/T/B/SECRETPATH
route:
  receiver: default
  group_wait: 1h
  routes:
    - match: { severity: critical }
      receiver: pager
receivers:
  - name: default
  - name: pager
    webhook_configs: [{ url: 'http://127.0.0.1:1/hook?token=abc' }]
`,
    t.dir,
  );
  app = createServer({ logger: silentLogger(), registry: new Registry(), bodyLimit: 1024 * 1024, isReady: () => true, token: () => TOKEN });
  await app.register(alertmanagerApiRoutes({ notifier: n, version: alertmanagerApiVersion }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  httpConfig = join(t.dir, 'http.yml');
  writeFileSync(httpConfig, `authorization:\n  type: Bearer\n  credentials: ${TOKEN}\n`);
});
afterAll(async () => {
  await app?.close();
  await n?.stop();
  t.cleanup();
});

const am = (...args: string[]) => exec(amtool!, [`--alertmanager.url=${base}`, `--http.config.file=${httpConfig}`, ...args]);

describe.skipIf(!amtool)('Alertmanager v2 API with the real amtool', () => {
  it('silence add / query / expire', async () => {
    const { stdout: id } = await am('silence', 'add', 'alertname=HighErrorRate', 'service=~"api|web"', '--comment=deploy', '--author=alice', '--duration=1h');
    expect(id.trim()).toMatch(/^[0-9a-f-]{36}$/);
    const { stdout: q } = await am('silence', 'query', '-o', 'json');
    const list = JSON.parse(q);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: id.trim(), createdBy: 'alice', comment: 'deploy', status: { state: 'active' } });
    expect(list[0].matchers).toContainEqual({ name: 'service', value: 'api|web', isRegex: true, isEqual: true });
    const { stdout: quiet } = await am('silence', 'query', '-q', 'alertname=HighErrorRate');
    expect(quiet.trim()).toBe(id.trim());
    await am('silence', 'expire', id.trim());
    const { stdout: after } = await am('silence', 'query', '-q');
    expect(after.trim()).toBe('');
    const { stdout: expired } = await am('silence', 'query', '--expired', '-q');
    expect(expired.trim()).toBe(id.trim());
  });

  it('alert add / query, silenced alerts marked', async () => {
    await am('alert', 'add', 'alertname=DatabaseDown', 'severity=critical', 'instance=db1', '--annotation=summary=down');
    await n.send([alert({ alertname: 'HighLatency', severity: 'warning' })]);
    const { stdout } = await am('alert', 'query', '-o', 'json');
    const alerts = JSON.parse(stdout);
    expect(alerts.map((a: { labels: { alertname: string } }) => a.labels.alertname).sort()).toEqual(['DatabaseDown', 'HighLatency']);
    const db = alerts.find((a: { labels: { alertname: string } }) => a.labels.alertname === 'DatabaseDown');
    expect(db.receivers).toEqual([{ name: 'pager' }]);
    expect(db.annotations.summary).toBe('down');
    await am('silence', 'add', 'instance=db1', '--comment=x', '--duration=10m');
    const { stdout: q2 } = await am('alert', 'query', '-o', 'json', 'alertname=DatabaseDown');
    expect(JSON.parse(q2)).toEqual([]);
    const { stdout: q3 } = await am('alert', 'query', '-s', '-o', 'json', 'alertname=DatabaseDown');
    expect(JSON.parse(q3)[0].status.state).toBe('suppressed');
    const groups = (await (await fetch(`${base}/api/v2/alerts/groups`)).json()) as unknown[];
    expect(groups.length).toBeGreaterThanOrEqual(1);
  });

  it("Vigil's version is reported with an API level amtool accepts without a warning", async () => {
    const { stdout, stderr } = await am('silence', 'query');
    expect(stdout).toContain('ID');
    expect(stderr).toBe('');
    const status = (await (await fetch(`${base}/api/v2/status`)).json()) as { versionInfo: { version: string } };
    expect(status.versionInfo.version).toBe(`0.25.0+vigil.${VIGIL_VERSION}`);
  });

  it('status masks secrets; amtool config show works', async () => {
    const { stdout } = await am('config', 'show');
    expect(stdout).not.toContain('hunter2');
    expect(stdout).not.toContain('SECRETPATH');
    expect(stdout).not.toContain('token=abc');
    expect(stdout).toContain('<secret>');
    const r = await (await fetch(`${base}/api/v2/receivers`)).json();
    expect(r).toEqual([{ name: 'default' }, { name: 'pager' }]);
  });

  it('state-changing calls need the token', async () => {
    const noAuth = (...args: string[]) => exec(amtool!, [`--alertmanager.url=${base}`, ...args]);
    await expect(noAuth('silence', 'add', 'a=b', '--comment=x')).rejects.toThrow();
    const post = await fetch(`${base}/api/v2/alerts`, { method: 'POST', body: '[]', headers: { 'content-type': 'application/json' } });
    expect(post.status).toBe(401);
    const del = await fetch(`${base}/api/v2/silence/xyz`, { method: 'DELETE' });
    expect(del.status).toBe(401);
  });

  it('rejects malformed, oversized and hostile input with clear errors', async () => {
    const post = (path: string, body: string) =>
      fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } });
    let r = await post('/api/v2/alerts', '{"not":"array"}');
    expect(r.status).toBe(400);
    expect(await r.text()).toBe('"invalid request: body must be array"');
    r = await post('/api/v2/alerts', '[{"labels":{}}]');
    expect(await r.text()).toContain('[0].labels: at least one label pair required');
    r = await post('/api/v2/alerts', '[{"labels":{"bad-name":"x"}}]');
    expect(await r.text()).toContain('invalid label name');
    r = await post('/api/v2/alerts', '[{"labels":{"a":"b"},"startsAt":"yesterday"}]');
    expect(await r.text()).toContain('[0].startsAt: invalid date-time');
    r = await post('/api/v2/alerts', '[{"labels":{"a":1}}]');
    expect(await r.text()).toContain('body/0/labels/a must be string');
    r = await post('/api/v2/alerts', '[' + '{"labels":{"a":"b"}},'.repeat(10_001) + '{"labels":{"a":"b"}}]');
    expect(r.status).toBe(400);
    const future = new Date(Date.now() + 3600_000).toISOString();
    r = await post('/api/v2/silences', JSON.stringify({ matchers: [{ name: 'a', value: '(', isRegex: true }], startsAt: new Date().toISOString(), endsAt: future, createdBy: 'x', comment: 'y' }));
    expect(r.status).toBe(400);
    expect(await r.text()).toContain('invalid regular expression');
    r = await post('/api/v2/silences', JSON.stringify({ matchers: [{ name: 'a', value: '.*', isRegex: true }], startsAt: new Date().toISOString(), endsAt: future, createdBy: 'x', comment: 'y' }));
    expect(await r.text()).toContain('must not match the empty string');
    r = await post('/api/v2/silences', JSON.stringify({ id: 'nope', matchers: [{ name: 'a', value: 'b' }], startsAt: new Date().toISOString(), endsAt: future, createdBy: 'x', comment: 'y' }));
    expect(r.status).toBe(404);
    r = await post('/api/v2/silences', 'null');
    expect(r.status).toBe(400);
    const g = await fetch(`${base}/api/v2/alerts?filter=${encodeURIComponent('{a=~"("}')}`);
    expect(g.status).toBe(400);
    const s404 = await fetch(`${base}/api/v2/silence/does-not-exist`);
    expect(s404.status).toBe(404);
    // The silence page a notification links to (/-/silence) is the web UI's, tested in a browser in test/ui.
  });
});
