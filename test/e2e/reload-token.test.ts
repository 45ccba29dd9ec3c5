/**
 * Hot reload through POST /-/reload on a running Vigil, and the bearer token on
 * every endpoint that changes state or accepts data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vigil } from '../../src/main.js';
import { baseConfig, e2eDir, getJson, post, type E2EDir } from './harness.js';

const TOKEN = 'e2e-token-3f9a1c';

function ruleFile(name: string, expr = 'vector(1) > 2'): object {
  return { groups: [{ name: `g-${name}`, rules: [{ alert: name, expr, for: '1m', labels: { severity: 'warning' } }] }] };
}

async function ruleNames(url: string): Promise<string[]> {
  const body = await getJson<{ data: { groups: Array<{ file: string; rules: Array<{ name: string }> }> } }>(`${url}/api/v1/rules`);
  return body.data.groups.flatMap((g) => g.rules.map((r) => r.name)).sort();
}

describe('hot reload', () => {
  let d: E2EDir;
  let vigil: Vigil;

  beforeAll(async () => {
    d = e2eDir('reload');
    d.write('rules/base.yml', ruleFile('BaseRule'));
    d.write('vigil.yml', { ...baseConfig({ evaluationInterval: '1s' }), rule_files: ['rules/*.yml'] });
    vigil = await d.start();
  });
  afterAll(async () => {
    await vigil?.stop();
    d?.remove();
  });

  it('rejects an invalid PromQL expression with 400 naming the file; the running rules stay', async () => {
    d.write('rules/broken.yml', ruleFile('Broken', 'rate(http_requests_total[5m] > '));
    const res = await post(`${vigil.url}/-/reload`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { status: string; error: string };
    expect(body.status).toBe('error');
    expect(body.error).toMatch(/rules\/broken\.yml: \d+:\d+: group "g-Broken", rule 1, "Broken": could not parse expression/);
    expect(await ruleNames(vigil.url)).toEqual(['BaseRule']);
  });

  it('rejects a YAML syntax error and a rule file with an unknown field, naming file and line', async () => {
    d.write('rules/broken.yml', 'groups:\n  - name: x\n    rules:\n      - alert: [unclosed\n');
    let res = await post(`${vigil.url}/-/reload`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/broken\.yml/);

    d.write('rules/broken.yml', 'groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: up\n        bogus: 1\n');
    res = await post(`${vigil.url}/-/reload`);
    expect(res.status).toBe(400);
    const err = ((await res.json()) as { error: string }).error;
    expect(err).toMatch(/broken\.yml: 6:9: .*bogus/);
    expect(await ruleNames(vigil.url)).toEqual(['BaseRule']);
  });

  it('rejects an invalid vigil.yml and keeps running', async () => {
    const good: Record<string, unknown> = { ...baseConfig({ evaluationInterval: '1s' }), rule_files: ['rules/base.yml'] };
    d.write('vigil.yml', { ...good, global: { ...(good.global as object), evaluation_interval: 'soon' } } as object);
    const res = await post(`${vigil.url}/-/reload`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/line \d+: global\.evaluation_interval: not a valid duration/);
    expect(await ruleNames(vigil.url)).toEqual(['BaseRule']);
    d.write('vigil.yml', { ...good, rule_files: ['rules/*.yml'] });
  });

  it('applies a valid change: the new rule appears in /api/v1/rules', async () => {
    d.write('rules/broken.yml', ruleFile('AddedRule', 'vector(1) > 0'));
    const res = await post(`${vigil.url}/-/reload`);
    expect(res.status).toBe(200);
    expect(await ruleNames(vigil.url)).toEqual(['AddedRule', 'BaseRule']);
  });

  it('applies evaluation_interval and external_labels: the groups run on the new interval', async () => {
    const cfg: Record<string, unknown> = { ...baseConfig({ evaluationInterval: '2s' }), rule_files: ['rules/*.yml'] };
    d.write('vigil.yml', { ...cfg, global: { ...(cfg.global as object), external_labels: { site: 'b' } } } as object);
    const res = await post(`${vigil.url}/-/reload`);
    expect(res.status).toBe(200);
    const groups = (await getJson<{ data: { groups: Array<{ interval: number }> } }>(`${vigil.url}/api/v1/rules`)).data.groups;
    expect(groups.map((g) => g.interval)).toEqual([2, 2]);
  });

  it('refuses a change that needs a restart, naming it, and applies nothing', async () => {
    const cfg: Record<string, unknown> = { ...baseConfig({ evaluationInterval: '1s' }), rule_files: ['rules/*.yml'] };
    d.write('rules/more.yml', ruleFile('NotYet', 'vector(1) > 0'));
    d.write('vigil.yml', { ...cfg, server: { listen: '127.0.0.1:0', body_limit: '2MiB', token: 'new-token' }, storage: { path: 'data', retention: '2h' } } as object);
    const res = await post(`${vigil.url}/-/reload`);
    expect(res.status).toBe(400);
    const err = ((await res.json()) as { error: string }).error;
    expect(err).toMatch(/reload refused, nothing applied: server\.body_limit, storage\.retention changed and needs a restart/);
    expect(await ruleNames(vigil.url)).toEqual(['AddedRule', 'BaseRule']);
    const groups = (await getJson<{ data: { groups: Array<{ interval: number }> } }>(`${vigil.url}/api/v1/rules`)).data.groups;
    expect(groups.map((g) => g.interval)).toEqual([2, 2]);
  });
});

describe('bearer token', () => {
  let d: E2EDir;
  let vigil: Vigil;

  const tokenConfig = (token: string) => ({
    ...baseConfig(),
    server: { listen: '127.0.0.1:0', token },
    alerting: { config: { route: { receiver: 'hook' }, receivers: [{ name: 'hook', webhook_configs: [{ url: 'http://127.0.0.1:9/hook' }] }] } },
    jobs: { sweep: { type: 'retention', schedule: '0 0 1 1 *', paths: [] } },
  });

  beforeAll(async () => {
    d = e2eDir('token');
    d.write('vigil.yml', tokenConfig(TOKEN));
    vigil = await d.start();
  });
  afterAll(async () => {
    await vigil?.stop();
    d?.remove();
  });

  const now = Date.now();
  const silence = { matchers: [{ name: 'alertname', value: 'X', isRegex: false, isEqual: true }], startsAt: new Date(now).toISOString(), endsAt: new Date(now + 3_600_000).toISOString(), createdBy: 'e2e', comment: 'token test' };
  const logLine = `${JSON.stringify({ timestamp: new Date(now).toISOString(), level: 'info', logger: 'e2e', message: 'hello' })}\n`;
  const alert = [{ labels: { alertname: 'Pushed', severity: 'warning' }, annotations: { summary: 'pushed' } }];
  const endpoints: Array<{ name: string; path: string; method?: string; body?: unknown; contentType?: string; ok: number[] }> = [
    { name: 'POST /-/reload', path: '/-/reload', ok: [200] },
    { name: 'POST /api/v1/logs', path: '/api/v1/logs', body: logLine, contentType: 'application/x-ndjson', ok: [200, 202, 204] },
    { name: 'POST /api/v2/silences', path: '/api/v2/silences', body: silence, ok: [200] },
    { name: 'POST /api/v1/jobs/:name/run', path: '/api/v1/jobs/sweep/run', ok: [200] },
    { name: 'POST /api/v2/alerts', path: '/api/v2/alerts', body: alert, ok: [200] },
    { name: 'DELETE /api/v2/silence/:id', path: '/api/v2/silence/00000000-0000-0000-0000-000000000000', method: 'DELETE', ok: [200, 404] },
  ];

  const send = (e: (typeof endpoints)[number], token?: string) =>
    e.method === 'DELETE'
      ? fetch(`${vigil.url}${e.path}`, { method: 'DELETE', headers: token ? { authorization: `Bearer ${token}` } : {} })
      : post(`${vigil.url}${e.path}`, e.body, token, e.contentType);

  for (const e of endpoints) {
    it(`${e.name}: 401 without the token or with a wrong one, accepted with it`, async () => {
      for (const token of [undefined, 'wrong', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
        const res = await send(e, token);
        expect(res.status, `token ${String(token)}`).toBe(401);
        const text = await res.text();
        expect(text).not.toContain(TOKEN);
      }
      // A token given some other way than as a bearer does not count.
      const basic = await fetch(`${vigil.url}${e.path}`, { method: e.method ?? 'POST', headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } });
      expect(basic.status).toBe(401);
      const res = await send(e, TOKEN);
      expect(e.ok, `${e.name} with token: ${res.status} ${await res.clone().text()}`).toContain(res.status);
    });
  }

  it('read-only endpoints need no token', async () => {
    expect((await fetch(`${vigil.url}/api/v1/rules`)).status).toBe(200);
    expect((await fetch(`${vigil.url}/api/v2/silences`)).status).toBe(200);
    expect((await fetch(`${vigil.url}/api/v1/jobs`)).status).toBe(200);
  });

  it('a reload applies a new token: the old one is refused at once, a signed-in browser is signed out', async () => {
    const signIn = await post(`${vigil.url}/api/v1/session`, { token: TOKEN });
    expect(signIn.status).toBe(200);
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0];
    const csrf = ((await signIn.json()) as { data: { csrfToken: string } }).data.csrfToken;
    const NEW = 'e2e-token-rotated-77d2';
    d.write('vigil.yml', tokenConfig(NEW));
    const res = await post(`${vigil.url}/-/reload`, undefined, TOKEN);
    expect(res.status, await res.clone().text()).toBe(200);
    const silences = endpoints.find((e) => e.path === '/api/v2/silences')!;
    expect((await send(silences, TOKEN)).status).toBe(401);
    expect((await send(silences, NEW)).status).toBe(200);
    const asBrowser = await fetch(`${vigil.url}/api/v2/silences`, { method: 'POST', headers: { cookie, 'x-vigil-csrf': csrf, 'content-type': 'application/json' }, body: JSON.stringify(silence) });
    expect(asBrowser.status).toBe(401);
    const session = await getJson<{ data: { authRequired: boolean; signedIn: boolean } }>(`${vigil.url}/api/v1/session`);
    expect(session.data.authRequired).toBe(true);
  });
});
