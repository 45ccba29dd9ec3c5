import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAlertmanagerConfig, parseAlertmanagerConfig } from '../../../src/alerts/notify/config.js';
import { matchRoutes, routeTree } from '../../../src/alerts/notify/route.js';
import { startAlertmanager } from '../../helpers/alertmanager.js';
import { requireBinary } from '../../helpers/services.js';
import { run as routesTest } from '../../../src/cli/routes-test.js';

const exec = promisify(execFile);
const amtool = requireBinary('amtool', 'prometheus-alertmanager');
const alertmanager = requireBinary('prometheus-alertmanager', 'prometheus-alertmanager');
const FIXTURE = new URL('./fixtures/routing.yml', import.meta.url).pathname;
const EXAMPLE = new URL('../../../alerting/alertmanager.yml', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'vigil-routing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EXAMPLE_ENV = { SMTP_AUTH_PASSWORD: 'pw', SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/XXXX' };

/** The example with ${ENV} substituted, as Vigil sees it, for amtool to read. */
function substitutedExample(): string {
  const raw = readFileSync(EXAMPLE, 'utf8');
  const text = raw.replace(/\$\{([A-Z_]+)(?::-([^}]*))?\}/g, (_m, k: string, d?: string) => (EXAMPLE_ENV as Record<string, string>)[k] ?? d ?? '');
  const f = join(dir, 'example.yml');
  writeFileSync(f, text);
  return f;
}

async function amtoolRoutes(file: string, labels: Record<string, string>): Promise<string> {
  const args = ['config', 'routes', 'test', `--config.file=${file}`, ...Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`)];
  const { stdout } = await exec(amtool!, args);
  return stdout.trim();
}

function vigilRoutes(file: string, labels: Record<string, string>, env?: NodeJS.ProcessEnv): string {
  const cfg = loadAlertmanagerConfig(file, env);
  return matchRoutes(routeTree(cfg), labels)
    .map((r) => r.opts.receiver)
    .join(',');
}

/** Deterministic pseudo-random label sets over small domains so every branch is hit. */
function generate(n: number): Record<string, string>[] {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const domains: Record<string, string[]> = {
    alertname: ['HighErrorRate', 'HighLatency', 'PodRestart', 'PodCrashLooping', 'DatabaseDown', 'Pod'],
    severity: ['critical', 'warning', 'info', ''],
    service: ['api', 'web', 'batch', 'db', 'apiweb'],
    team: ['db', 'dba', 'a,b', 'web', ''],
    env: ['prod', 'dev', 'stage', 'staging', 'stag', ''],
  };
  const out: Record<string, string>[] = [];
  for (let i = 0; i < n; i++) {
    const ls: Record<string, string> = {};
    for (const [k, vals] of Object.entries(domains)) {
      if (rnd() < 0.8) {
        const v = vals[Math.floor(rnd() * vals.length)];
        if (v !== '') ls[k] = v;
      }
    }
    out.push(ls);
  }
  return out;
}

async function inBatches<T, R>(items: T[], size: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

const labelsKey = (ls: Record<string, string>) => JSON.stringify(Object.entries(ls).sort(([a], [b]) => (a < b ? -1 : 1)));

/**
 * The receivers Alertmanager itself routes each label set to, as its alerts API
 * lists them (route order, the order amtool prints): one process answers them
 * all, where amtool starts a process per set. Empty sets are no valid alert.
 */
async function alertmanagerRoutes(file: string, sets: Record<string, string>[]): Promise<Map<string, string>> {
  const am = await startAlertmanager(alertmanager!, readFileSync(file, 'utf8'));
  try {
    const endsAt = new Date(Date.now() + 3_600_000).toISOString();
    const res = await fetch(`${am.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sets.filter((ls) => Object.keys(ls).length).map((labels) => ({ labels, endsAt }))),
    });
    expect(res.status, await res.text()).toBe(200);
    const listed = (await (await fetch(`${am.url}/api/v2/alerts`)).json()) as Array<{ labels: Record<string, string>; receivers: Array<{ name: string }> }>;
    return new Map(listed.map((a) => [labelsKey(a.labels), a.receivers.map((r) => r.name).join(',')]));
  } finally {
    await am.stop();
  }
}

describe.skipIf(!amtool || !alertmanager)('routing agrees with amtool and Alertmanager', () => {
  it('amtool check-config accepts the example and the fixture', async () => {
    for (const f of [substitutedExample(), FIXTURE]) {
      const { stdout } = await exec(amtool!, ['check-config', f]);
      expect(stdout).toContain('SUCCESS');
    }
  });

  it('documented tree (seed-notes §5)', async () => {
    const f = substitutedExample();
    const cases: Record<string, string>[] = [
      { severity: 'critical', alertname: 'HighErrorRate', service: 'api' },
      { severity: 'warning', alertname: 'HighLatency' },
      { severity: 'info' },
      {},
      { alertname: 'DatabaseConnectionFailure', severity: 'critical' },
    ];
    for (const c of cases) {
      const want = await amtoolRoutes(f, c);
      expect(vigilRoutes(EXAMPLE, c, { ...process.env, ...EXAMPLE_ENV }), JSON.stringify(c)).toBe(want);
    }
    expect(vigilRoutes(EXAMPLE, { severity: 'critical' }, { ...process.env, ...EXAMPLE_ENV })).toBe('critical-alerts');
  });

  it('600 generated label sets on a tree with every matcher form', async () => {
    const sets = generate(600);
    // One tree for every set, as the notifier has: loading it per set cost more than the sets.
    const tree = routeTree(loadAlertmanagerConfig(FIXTURE));
    const got = sets.map((ls) => matchRoutes(tree, ls).map((r) => r.opts.receiver).join(','));
    const byAlertmanager = await alertmanagerRoutes(FIXTURE, sets);
    // amtool for the first sets and for those Alertmanager cannot take as alerts (no labels).
    const viaAmtool = sets.map((ls, i) => i < 40 || Object.keys(ls).length === 0);
    const byAmtool = await inBatches(
      sets.map((ls, i) => ({ ls, i })).filter(({ i }) => viaAmtool[i]),
      8,
      async ({ ls, i }) => [i, await amtoolRoutes(FIXTURE, ls)] as const,
    );
    const want = sets.map((ls) => byAlertmanager.get(labelsKey(ls)));
    for (const [i, receivers] of byAmtool) {
      if (want[i] !== undefined) expect(receivers, `amtool and Alertmanager on ${JSON.stringify(sets[i])}`).toBe(want[i]);
      want[i] = receivers;
    }
    expect(want.filter((w) => w === undefined)).toEqual([]);
    const mismatches = sets.map((ls, i) => ({ ls, want: want[i], got: got[i] })).filter((x) => x.want !== x.got);
    expect(mismatches).toEqual([]);
    // The generated sets must actually exercise the tree.
    expect(new Set(want).size).toBeGreaterThan(8);
  });

  it('vigil routes test prints what amtool prints', async () => {
    const lines: string[] = [];
    const orig = console.log;
    console.log = (s: string) => lines.push(s);
    try {
      expect(await routesTest(['--config', FIXTURE, 'severity=critical', 'service=api', 'team=dba', 'env=prod'])).toBe(0);
      expect(await routesTest(['--config', FIXTURE, '--verify.receivers=nope', 'severity=critical'])).toBe(1);
    } finally {
      console.log = orig;
    }
    expect(lines[0]).toBe(await amtoolRoutes(FIXTURE, { severity: 'critical', service: 'api', team: 'dba', env: 'prod' }));
  });
});

describe('alertmanager config validation', () => {
  const bad = (text: string) => {
    try {
      parseAlertmanagerConfig(text, 'am.yml');
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('expected an error');
  };
  it('names file, line and field', () => {
    const msg = bad('route:\n  receiver: x\n  group_wait: soon\nreceivers: [{name: x}]\n');
    expect(msg).toContain('am.yml');
    expect(msg).toMatch(/line 3: route.group_wait/);
  });
  it('rejects unknown receivers, missing root receiver, bad regex, bad matchers, unknown keys', () => {
    expect(bad('route: {receiver: nope}\nreceivers: [{name: x}]\n')).toContain('undefined receiver "nope"');
    expect(bad('route: {group_by: [a]}\n')).toContain('root route must specify a default receiver');
    expect(bad('route: {receiver: x, routes: [{match_re: {a: "("}}]}\nreceivers: [{name: x}]\n')).toContain('invalid regular expression');
    expect(bad('route: {receiver: x, routes: [{matchers: ["a=~\\"(\\""]}]}\nreceivers: [{name: x}]\n')).toContain('invalid regular expression');
    expect(bad('route: {receiver: x, routes: [{matchers: ["==="]}]}\nreceivers: [{name: x}]\n')).toContain('bad matcher format');
    expect(bad('route: {receiver: x, bogus: 1}\nreceivers: [{name: x}]\n')).toMatch(/bogus/);
    expect(bad('route: {receiver: x}\nreceivers: [{name: x, pagerduty_configs: [{}]}]\n')).toContain('pagerduty_configs is not supported');
    expect(bad('route: {receiver: x, group_by: ["...", a]}\nreceivers: [{name: x}]\n')).toContain('wildcard');
    expect(bad('route: {receiver: x}\nreceivers: [{name: x, slack_configs: [{channel: a}]}]\n')).toContain('no global Slack API URL');
    expect(bad('route: {receiver: x}\nreceivers: [{name: x, email_configs: [{to: a@b}]}]\n')).toContain('no global SMTP smarthost');
    expect(bad('route: {receiver: x, routes: [{mute_time_intervals: [w]}]}\nreceivers: [{name: x}]\n')).toContain('undefined time interval');
    expect(bad('route: {receiver: x}\nreceivers: [{name: x}]\ntime_intervals: [{name: w, time_intervals: [{weekdays: [funday]}]}]\n')).toContain('funday');
  });
  it('survives hostile input', () => {
    expect(bad('[')).toContain('am.yml');
    expect(bad('a: &a [*a]\n')).toBeTruthy();
    expect(bad(`route: {receiver: x, routes: [{matchers: ["a=\\"${'x'.repeat(20_000)}\\""]}]}\nreceivers: [{name: x}]\n`)).toContain('too long');
  });
});
