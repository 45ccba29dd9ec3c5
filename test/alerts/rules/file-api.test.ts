/** Malformed and hostile rule files; the rules API shapes; the storage lint. */
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { lintAgainstStorage, querierExists } from '../../../src/alerts/rules/check.js';
import { createRuleManager, parseRuleFile } from '../../../src/alerts/rules/index.js';
import { rulesApiRoutes } from '../../../src/api/rules-api.js';
import { silentLogger } from '../../../src/logger.js';
import { createEngine } from '../../../src/promql/index.js';
import { MemoryStorage } from '../../../src/tsdb/memory.js';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const parse = (t: string) => parseRuleFile(t, 'f.yml');

describe('rule file validation', () => {
  it('accepts empty files and reports every problem with file, line, group and rule', () => {
    expect(parse('')).toEqual({ groups: [], errors: [] });
    expect(parse('groups:\n').errors).toEqual([]);
    const r = parse(
      'groups:\n- name: g\n  interval: 1x\n  rules:\n  - alert: A\n    expr: sum(\n  - alert: B\n    expr: up\n    labels: {x: [1]}\n  - alert: C\n    record: c\n    expr: up\n',
    );
    expect(r.errors).toEqual([
      'f.yml: 3:13: group "g": interval: not a valid duration string: "1x"',
      expect.stringMatching(/^f\.yml: 6:11: group "g", rule 1, "A": could not parse expression: 1:5: parse error/),
      'f.yml: 9:17: group "g", rule 2, "B": label "x" must be a string',
      `f.yml: group "g", rule 3, "C": only one of 'record' and 'alert' must be set`,
    ]);
  });

  it('rejects non-mappings, unknown top-level keys, YAML errors and alias bombs without crashing', () => {
    expect(parse('- a\n- b\n').errors[0]).toMatch(/must be a mapping/);
    expect(parse('grups: []\n').errors[0]).toBe('f.yml: 1:1: yaml: field grups not found in type rulefmt.RuleGroups');
    expect(parse('groups: [\n').errors[0]).toMatch(/^f\.yml: yaml: line \d+: /);
    expect(parse('groups: 5\n').errors[0]).toMatch(/"groups" must be a list/);
    const bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\ngroups: [*c]\n';
    expect(parse(bomb).errors.length).toBeGreaterThan(0);
    const huge = 'groups:\n- name: g\n  rules:\n' + '  - record: r\n    expr: "' + '('.repeat(5000) + 'up' + ')'.repeat(5000) + '"\n';
    expect(parse(huge).errors[0]).toMatch(/could not parse expression/);
  });
});

describe('rules API and storage lint', () => {
  it('serves /api/v1/rules and /api/v1/alerts in Prometheus shape', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-rules-api-'));
    try {
      const file = join(dir, 'r.yml');
      writeFileSync(
        file,
        'groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 1m\n    labels: {severity: critical}\n    annotations: {summary: "{{ $labels.instance }} down"}\n  - record: job:up:sum\n    expr: sum by (job) (up)\n',
      );
      const storage = new MemoryStorage();
      storage.add({ __name__: 'up', job: 'x', instance: 'i' }, 1_000, 0);
      const manager = createRuleManager({
        files: ['r.yml'],
        baseDir: dir,
        engine: createEngine(storage),
        storage,
        sink: { send: async () => {} },
        registry: new Registry(),
        logger: silentLogger(),
        evaluationIntervalMs: 15_000,
        externalLabels: {},
        externalUrl: 'http://vigil',
        now: () => 2_000,
      });
      await manager.reload();
      await manager.evaluateAll(2_000);
      const app = Fastify();
      await app.register(rulesApiRoutes({ manager }));
      const all = (await app.inject('/api/v1/rules')).json();
      expect(all.status).toBe('success');
      const g = all.data.groups[0];
      expect(g).toMatchObject({ name: 'g', file, interval: 15, limit: 0 });
      expect(g.rules[0]).toMatchObject({
        type: 'alerting',
        name: 'Down',
        query: 'up == 0',
        duration: 60,
        state: 'pending',
        health: 'ok',
        labels: { severity: 'critical' },
        alerts: [{ state: 'pending', value: '0e+00', activeAt: '1970-01-01T00:00:02.000Z', annotations: { summary: 'i down' } }],
      });
      expect(g.rules[1]).toMatchObject({ type: 'recording', name: 'job:up:sum', health: 'ok' });
      const rec = (await app.inject('/api/v1/rules?type=record')).json();
      expect(rec.data.groups[0].rules.map((r: { type: string }) => r.type)).toEqual(['recording']);
      expect((await app.inject('/api/v1/rules?type=bogus')).statusCode).toBe(400);
      const alerts = (await app.inject('/api/v1/alerts')).json();
      expect(alerts.data.alerts).toHaveLength(1);
      expect(alerts.data.alerts[0].labels).toEqual({ alertname: 'Down', instance: 'i', job: 'x', severity: 'critical' });
      await app.close();

      // The lint: `up` exists, a misspelt metric does not; recorded names count as existing.
      const specs = parseRuleFile('groups:\n- name: l\n  rules:\n  - alert: T\n    expr: rate(http_requets_total[5m]) > 0 or up == 0\n  - alert: R\n    expr: job:up:sum == 0\n  - record: job:up:sum\n    expr: sum(up)\n', 'l.yml').groups;
      const problems = await lintAgainstStorage(specs, querierExists(storage.querier()));
      expect(problems).toEqual(['l.yml: 4: group "l", rule 1, "T": selector http_requets_total matches no series in storage']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
