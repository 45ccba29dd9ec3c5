import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseAlertmanagerConfig } from '../../../src/alerts/notify/config.js';
import { compileInhibitRules, Inhibitor } from '../../../src/alerts/notify/inhibit.js';
import { fingerprint, parseMatchers } from '../../../src/alerts/notify/matchers.js';
import { needsUpdate } from '../../../src/alerts/notify/pipeline.js';
import { withRetry } from '../../../src/alerts/notify/retry.js';
import { silencedBy, validateSilence } from '../../../src/alerts/notify/silences.js';
import { makeRenderer } from '../../../src/alerts/notify/templates.js';
import { inTimeInterval } from '../../../src/alerts/notify/time-intervals.js';
import { templateData } from '../../../src/alerts/notify/template-data.js';
import { webhookIntegration } from '../../../src/alerts/notify/receivers/webhook.js';
import { maskedConfigYaml } from '../../../src/alerts/notify/mask.js';
import { NotifyError, type StoredAlert } from '../../../src/alerts/notify/types.js';
import { startSlackStandIn } from '../../helpers/slack.js';

function stored(labels: Record<string, string>, resolved = false): StoredAlert {
  const now = Date.now();
  return { fingerprint: fingerprint(labels), labels, annotations: {}, startsAt: now - 1000, endsAt: resolved ? now - 1 : now + 60_000, generatorURL: '', updatedAt: now, timeout: false };
}

describe('dedup (nflog)', () => {
  const now = 1_000_000;
  const s = (...x: string[]) => new Set(x);
  it('follows Alertmanager', () => {
    expect(needsUpdate(undefined, s('a'), s(), false, 1000, now)).toBe(true);
    expect(needsUpdate(undefined, s(), s('a'), true, 1000, now)).toBe(false);
    const e = { firing: ['a'], resolved: [], timestamp: now - 10, expiresAt: now + 1e6 };
    expect(needsUpdate(e, s('a'), s(), false, 1000, now)).toBe(false);
    expect(needsUpdate(e, s('a', 'b'), s(), false, 1000, now)).toBe(true);
    expect(needsUpdate(e, s(), s('a'), false, 1000, now)).toBe(true);
    expect(needsUpdate(e, s('a'), s('b'), false, 1000, now)).toBe(false);
    expect(needsUpdate(e, s('a'), s('b'), true, 1000, now)).toBe(true);
    expect(needsUpdate({ ...e, timestamp: now - 2000 }, s('a'), s(), false, 1000, now)).toBe(true);
    expect(needsUpdate({ firing: [], resolved: ['a'], timestamp: now, expiresAt: 0 }, s(), s('a'), true, 1000, now)).toBe(false);
  });
});

describe('inhibition', () => {
  const inh = new Inhibitor(
    compileInhibitRules([{ source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['alertname', 'service'] }]),
  );
  it('mutes the target when equal labels agree', () => {
    const crit = stored({ alertname: 'X', service: 'api', severity: 'critical' });
    const warn = stored({ alertname: 'X', service: 'api', severity: 'warning' });
    const other = stored({ alertname: 'X', service: 'web', severity: 'warning' });
    expect(inh.inhibitedBy(warn.labels, warn.fingerprint, [crit, warn])).toBe(crit.fingerprint);
    expect(inh.inhibitedBy(other.labels, other.fingerprint, [crit, other])).toBeUndefined();
    expect(inh.inhibitedBy(crit.labels, crit.fingerprint, [crit])).toBeUndefined();
  });
  it('an alert matching both sides does not inhibit itself or its twin', () => {
    const both = new Inhibitor(compileInhibitRules([{ source_match: { a: '1' }, target_match_re: { a: '.*' }, equal: [] }]));
    const x = stored({ a: '1', n: 'x' });
    const y = stored({ a: '1', n: 'y' });
    const z = stored({ a: '2' });
    expect(both.inhibitedBy(x.labels, x.fingerprint, [x, y])).toBeUndefined();
    expect(both.inhibitedBy(z.labels, z.fingerprint, [x, z])).toBe(x.fingerprint);
  });
});

describe('silences', () => {
  const now = Date.now();
  const sil = (matchers: { name: string; value: string; isRegex: boolean; isEqual: boolean }[], startsAt = now - 1, endsAt = now + 1000) => ({
    id: 'x',
    matchers,
    startsAt,
    endsAt,
    updatedAt: now,
    createdBy: '',
    comment: '',
  });
  it('matches active silences only, with negative and regex matchers', () => {
    const s = sil([
      { name: 'service', value: 'api|web', isRegex: true, isEqual: true },
      { name: 'env', value: 'dev', isRegex: false, isEqual: false },
    ]);
    expect(silencedBy([s], { service: 'api', env: 'prod' }, now)).toEqual(['x']);
    expect(silencedBy([s], { service: 'api', env: 'dev' }, now)).toEqual([]);
    expect(silencedBy([s], { service: 'apix' }, now)).toEqual([]);
    expect(silencedBy([{ ...s, startsAt: now + 10 }], { service: 'api' }, now)).toEqual([]);
    expect(silencedBy([{ ...s, endsAt: now }], { service: 'api' }, now)).toEqual([]);
  });
  it('validates', () => {
    expect(validateSilence({ matchers: [] })).toContain('at least one matcher');
    expect(validateSilence(sil([{ name: '0bad', value: 'x', isRegex: false, isEqual: true }]))).toContain('invalid label name');
    expect(validateSilence(sil([{ name: 'a', value: '', isRegex: false, isEqual: true }]))).toContain('empty string');
    expect(validateSilence(sil([{ name: 'a', value: 'b', isRegex: false, isEqual: true }], now, now - 1))).toContain('end time');
  });
});

describe('time intervals', () => {
  it('weekdays, times, days_of_month (negative), months, years, location', () => {
    const mon9 = new Date('2024-01-01T09:30:00Z'); // a Monday
    expect(inTimeInterval({ weekdays: ['monday:friday'], times: [{ start_time: '09:00', end_time: '17:00' }] }, mon9)).toBe(true);
    expect(inTimeInterval({ weekdays: ['saturday', 'sunday'] }, mon9)).toBe(false);
    expect(inTimeInterval({ times: [{ start_time: '10:00', end_time: '17:00' }] }, mon9)).toBe(false);
    expect(inTimeInterval({ days_of_month: ['-1'] }, new Date('2024-02-29T12:00:00Z'))).toBe(true);
    expect(inTimeInterval({ months: ['december:january'] }, mon9)).toBe(false);
    expect(inTimeInterval({ months: ['january'], years: ['2023:2025'] }, mon9)).toBe(true);
    expect(inTimeInterval({ times: [{ start_time: '10:00', end_time: '11:00' }], location: 'Europe/Berlin' }, mon9)).toBe(true);
  });
});

describe('matchers', () => {
  it('parses the forms Alertmanager accepts', () => {
    expect(parseMatchers('{a="b", c=~"d,e", f!=g}').map((m) => [m.name, m.type, m.value])).toEqual([
      ['a', '=', 'b'],
      ['c', '=~', 'd,e'],
      ['f', '!=', 'g'],
    ]);
    expect(parseMatchers('a="x\\"y"')[0].value).toBe('x"y');
    expect(() => parseMatchers('a=~"("')).toThrow('error parsing regexp: missing closing ): `^(?:()$`');
  });
  it('fingerprints like Alertmanager', () => {
    // model.LabelSet{"alertname":"Test"}.Fingerprint() in Go.
    expect(fingerprint({})).toBe('cbf29ce484222325');
    expect(fingerprint({ a: 'b' })).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('templates', () => {
  it('the documented subject and body render', () => {
    const fallbackRender = makeRenderer('{{ define "x.title" }}T:{{ .Receiver }}{{ end }}');
    const n = { receiver: 'r', groupKey: 'k', groupLabels: { alertname: 'X' }, alerts: [stored({ alertname: 'X' })], now: Date.now(), externalUrl: 'http://v' };
    n.alerts[0] = { ...n.alerts[0], annotations: { summary: 'S', description: 'D' } };
    const d = templateData(n);
    expect(fallbackRender('[CRITICAL] {{ .GroupLabels.alertname }}', d)).toBe('[CRITICAL] X');
    expect(fallbackRender('{{ range .Alerts }}Alert: {{ .Annotations.summary }}\nDescription: {{ .Annotations.description }}\n{{ end }}', d)).toBe(
      'Alert: S\nDescription: D\n',
    );
    expect(fallbackRender('{{ .Status | toUpper }} {{ .Alerts.Firing | len }} {{ len .Alerts.Resolved }}', d)).toBe('FIRING 1 0');
    expect(fallbackRender('{{ template "x.title" . }}', d)).toBe('T:r');
    expect(fallbackRender('{{ range $k, $v := .CommonLabels }}{{ $k }}={{ $v }}{{ end }}', d)).toBe('alertname=X');
    expect(fallbackRender('{{ .Nope }}', d)).toMatch(/can't evaluate field Nope/);
    expect(fallbackRender('{{ .Nope.x }', d)).toMatch(/^<error expanding template: template: notification:1/);
    expect(fallbackRender('{{ .Nope | nofunc }}', d)).toMatch(/^<error expanding template: /);
    expect(fallbackRender('{{ if .Alerts.Resolved }}r{{ else }}none{{ end }}', d)).toBe('none');
  });
});

describe('webhook', () => {
  it('sends Alertmanager webhook JSON version 4 with truncation', async () => {
    const bodies: any[] = [];
    const srv = createServer((req, res) => {
      let b = '';
      req.on('data', (c) => (b += c));
      req.on('end', () => {
        bodies.push({ body: JSON.parse(b), auth: req.headers.authorization });
        res.end();
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}/hook`;
    try {
      const w = webhookIntegration({ url, sendResolved: true, maxAlerts: 1, index: 0, headers: { authorization: 'Bearer t' } });
      await w.notify({ receiver: 'default', groupKey: '{}:{alertname="X"}', groupLabels: { alertname: 'X' }, alerts: [stored({ alertname: 'X', i: '1' }), stored({ alertname: 'X', i: '2' }, true)], now: Date.now(), externalUrl: 'http://v' });
      const b = bodies[0].body;
      expect(bodies[0].auth).toBe('Bearer t');
      expect(b).toMatchObject({ version: '4', groupKey: '{}:{alertname="X"}', truncatedAlerts: 1, status: 'firing', receiver: 'default', groupLabels: { alertname: 'X' }, commonLabels: { alertname: 'X' }, externalURL: 'http://v' });
      expect(b.alerts).toHaveLength(1);
      expect(Object.keys(b.alerts[0]).sort()).toEqual(['annotations', 'endsAt', 'fingerprint', 'generatorURL', 'labels', 'startsAt', 'status']);
    } finally {
      srv.close();
    }
  });
});

describe('retry', () => {
  it('stops on permanent errors and honours Retry-After', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new NotifyError('bad request', false);
        },
        { maxElapsedMs: 5000 },
      ),
    ).rejects.toThrow(/after 1 attempt/);
    expect(calls).toBe(1);
    const times: number[] = [];
    await withRetry(
      async () => {
        times.push(Date.now());
        if (times.length === 1) throw new NotifyError('429', true, 400);
      },
      { maxElapsedMs: 5000 },
    );
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(380);
  });
});

describe('config output', () => {
  it('masks secrets as <secret>', async () => {
    const slack = await startSlackStandIn();
    try {
      const raw = { global: { smtp_auth_password: 'pw', slack_api_url: slack.url }, receivers: [{ name: 'x', webhook_configs: [{ url: 'http://h/?t=1' }] }] };
      const y = maskedConfigYaml(raw);
      expect(y).not.toContain('pw\n');
      expect(y).not.toContain('XXXXSECRET');
      expect(y.match(/<secret>/g)).toHaveLength(3);
      expect(() => parseAlertmanagerConfig('route: {receiver: x}\nreceivers: [{name: x}]\n')).not.toThrow();
    } finally {
      await slack.close();
    }
  });
});
