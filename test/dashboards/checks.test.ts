import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dashboard as GrafanaDashboard } from '@grafana/schema';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { buildDashboards } from '../../src/dashboards/build.js';
import { DEFAULT_RUNBOOK_BASE_URL } from '../../src/dashboards/constants.js';
import { CATALOGUE, indexCatalogue, type MetricInfo } from '../../src/dashboards/catalogue.js';
import { checkDashboard, checkRuleFiles, prometheusQueries, variableQueryExpr } from '../../src/dashboards/check.js';
import { analysePromql, expandGrafanaVars } from '../../src/dashboards/promql.js';
import { validateDashboard, type ValidDashboard } from '../../src/dashboards/validate.js';

const RULES_DIR = join(import.meta.dirname, '../../rules');
const built = buildDashboards();
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

// Compile-time: whatever the runtime schema accepts is a Grafana `Dashboard`
// as @grafana/schema defines it; tsc fails here if the two drift apart.
const _assignable = (d: ValidDashboard): GrafanaDashboard => d;
void _assignable;

describe('dashboard queries', () => {
  for (const [file, dash] of built) {
    it(`${file}: every PromQL query parses and names only catalogued metrics`, () => {
      if (file !== 'logs') expect(prometheusQueries(dash).length).toBeGreaterThan(0);
      expect(checkDashboard(file, dash)).toEqual([]);
    });
    it(`${file}: validates against Grafana's dashboard schema`, () => {
      expect(validateDashboard(dash)).toEqual([]);
    });
  }

  it('logs dashboard queries Elasticsearch, not Prometheus', () => {
    expect(prometheusQueries(built.get('logs'))).toEqual([]);
  });

  it('fails on a misspelt metric name in a panel, naming panel and suggestion', () => {
    const dash = clone(built.get('planning-api')!);
    const text = JSON.stringify(dash).replace('sum(rate(http_requests_total{', 'sum(rate(http_request_total{');
    const issues = checkDashboard('planning-api', JSON.parse(text));
    expect(issues).toHaveLength(1);
    expect(issues[0].kind).toBe('unknown-metric');
    expect(issues[0].where).toMatch(/^planning-api: panel "Traffic" \(id \d+\) query A$/);
    expect(issues[0].message).toContain('http_request_total');
    expect(issues[0].message).toContain('did you mean http_requests_total?');
  });

  it('fails on a misspelt metric in a template variable', () => {
    const dash = clone(built.get('postgres')!);
    const text = JSON.stringify(dash).replace('label_values(pg_up, job)', 'label_values(pg_upp, job)');
    const issues = checkDashboard('postgres', JSON.parse(text));
    expect(issues.map((i) => i.where)).toEqual(['postgres: variable job']);
  });

  it('fails on a query that does not parse', () => {
    const dash = clone(built.get('redis')!);
    const text = JSON.stringify(dash).replace('min(redis_up{', 'min(redis_up{{');
    const issues = checkDashboard('redis', JSON.parse(text));
    expect(issues.some((i) => i.kind === 'parse' && i.where.includes('"Up"'))).toBe(true);
  });

  it('survives hostile query text', () => {
    const deep = `sum(${'('.repeat(5000)}up${')'.repeat(5000)})`;
    expect(analysePromql(deep).errors[0].message).toMatch(/deep|nest|depth/i);
    expect(analysePromql('x'.repeat(1_000_000)).errors[0].message).toMatch(/too long/);
    expect(analysePromql('').errors).toHaveLength(1);
    expect(analysePromql('rate(up)').errors[0].message).toMatch(/range vector/);
    expect(analysePromql('{__name__="weird:name"}').metrics).toEqual(['weird:name']);
    expect(checkDashboard('x', { panels: [{ id: 1, targets: [{ refId: 'A', expr: 42 }, null, 'x'] }, 7] })).toEqual([]);
    expect(checkDashboard('x', null)).toEqual([]);
  });
});

describe('Grafana variables', () => {
  it('expands the forms Grafana substitutes', () => {
    expect(expandGrafanaVars('rate(x{job=~"$job",a=~"${inst:regex}",b="[[old]]"}[$__rate_interval])')).toBe('rate(x{job=~".+",a=~".+",b=".+"}[1m])');
    expect(expandGrafanaVars('increase(x[$__range])', { job: 'api' })).toBe('increase(x[1h])');
  });
  it('extracts the expression of variable queries', () => {
    expect(variableQueryExpr('label_values(up{job="a"}, instance)')).toBe('up{job="a"}');
    expect(variableQueryExpr('label_values(job)')).toBeUndefined();
    expect(variableQueryExpr('query_result(topk(5, up))')).toBe('topk(5, up)');
    expect(variableQueryExpr('metrics(http_.*)')).toBeUndefined();
  });
});

describe('rule files', () => {
  it('every metric the shipped rules/*.yml name is in the catalogue, and every expression parses', async () => {
    const names = (await readdir(RULES_DIR).catch(() => [] as string[])).filter((f) => /\.ya?ml$/.test(f) && !/test/.test(f));
    const files = await Promise.all(names.map(async (f) => ({ file: `rules/${f}`, text: await readFile(join(RULES_DIR, f), 'utf8') })));
    // Rule unit-test files (promtool format) have no `groups:`; only rule files are checked.
    const ruleFiles = files.filter((f) => /^groups:/m.test(f.text));
    expect(checkRuleFiles(ruleFiles, CATALOGUE)).toEqual([]);
  });

  const ruleText = `groups:
  - name: demo
    rules:
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
      - alert: Ratio
        expr: job:http_requests:rate5m > 1
      - alert: Typo
        expr: rate(http_request_duration_second_bucket[5m]) > 1
`;

  it('knows recording rules and flags a misspelt metric with its place', () => {
    const issues = checkRuleFiles([{ file: 'rules/demo.yml', text: ruleText }], CATALOGUE);
    expect(issues).toHaveLength(1);
    expect(issues[0].where).toBe('rules/demo.yml: groups[0] (demo) rules[2] alert Typo');
    expect(issues[0].message).toContain('did you mean http_request_duration_seconds_bucket?');
  });

  it('reports malformed rule files with file and line, without throwing', () => {
    const bad = checkRuleFiles(
      [
        { file: 'rules/broken.yml', text: 'groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: [unclosed\n' },
        { file: 'rules/shape.yml', text: 'groups:\n  - name: x\n    rules:\n      - alert: A\n' },
        { file: 'rules/null.yml', text: '' },
      ],
      CATALOGUE,
    );
    expect(bad.map((i) => i.where)).toEqual(['rules/broken.yml', 'rules/shape.yml', 'rules/null.yml']);
    expect(bad[0].message).toMatch(/line \d+/);
    expect(bad[1].message).toMatch(/line 4: groups\[0\]\.rules\[0\]\.expr/);
  });
});

describe('dashboard schema', () => {
  const good = built.get('alerts')!;

  it('rejects what Grafana would reject, naming the path', () => {
    const d = clone(good) as any;
    delete d.title;
    d.panels[1].gridPos.w = 30;
    d.panels[2].id = d.panels[1].id;
    d.links[0].type = 'url';
    d.templating = { list: [{ name: 'bad name', type: 'query' }] };
    d.uid = 'x'.repeat(41);
    const paths = validateDashboard(d).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['title', 'panels[1].gridPos.w', 'links[0].type', 'templating.list[0].name', 'uid']));
    const d2 = clone(good) as any;
    d2.panels[2].id = d2.panels[1].id;
    expect(validateDashboard(d2)).toEqual([expect.objectContaining({ path: 'panels[2].id', message: expect.stringContaining('also used') })]);
  });

  it('never throws on hostile input', () => {
    for (const v of [null, undefined, 42, 'x', [], { panels: 'no' }, { title: 'x', uid: 'y', schemaVersion: 1, panels: [null] }]) {
      expect(validateDashboard(v).length).toBeGreaterThan(0);
    }
  });
});

describe('metric catalogue', () => {
  it('has no name twice and resolves histogram series', () => {
    const index = indexCatalogue();
    expect(index.get('http_request_duration_seconds_bucket')?.name).toBe('http_request_duration_seconds');
    // The bare name is the native histogram form of the same family.
    expect(index.get('http_request_duration_seconds')?.name).toBe('http_request_duration_seconds');
    const dup: MetricInfo[] = [...CATALOGUE, { name: 'up', type: 'gauge', source: 'vigil', help: 'x' }];
    expect(() => indexCatalogue(dup)).toThrow(/up is listed twice/);
  });

  it("process metrics are exactly prom-client's default metric names", async () => {
    const reg = new Registry();
    collectDefaultMetrics({ register: reg });
    const names = new Set((await reg.getMetricsAsJSON()).map((m) => m.name));
    const missing = CATALOGUE.filter((m) => m.source === 'process').filter((m) => !names.has(m.name));
    expect(missing.map((m) => m.name)).toEqual([]);
  });
});

describe('links between dashboards, runbooks and rules', () => {
  const ROOT = join(import.meta.dirname, '../..');

  it('every runbook link points at a page in docs/runbooks/', async () => {
    const pages = new Set(await readdir(join(ROOT, 'docs/runbooks')).catch(() => [] as string[]));
    const base = `${DEFAULT_RUNBOOK_BASE_URL}/`;
    const missing: string[] = [];
    for (const [file, dash] of built) {
      for (const url of JSON.stringify(dash).match(/"url":"[^"]+"/g) ?? []) {
        const u = url.slice(7, -1);
        if (u.startsWith(base) && u !== base && !pages.has(u.slice(base.length))) missing.push(`${file}: ${u}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("every rule's dashboard annotation names a shipped dashboard (and panel)", async () => {
    const names = (await readdir(RULES_DIR).catch(() => [] as string[])).filter((f) => /\.ya?ml$/.test(f));
    const panels = new Map([...built.values()].map((d) => [String(d.uid), new Set(JSON.stringify(d).match(/"id":\d+/g)?.map((s) => s.slice(5)) ?? [])]));
    const bad: string[] = [];
    for (const f of names) {
      const text = await readFile(join(RULES_DIR, f), 'utf8');
      for (const m of text.matchAll(/dashboard:\s*["']?([^"'\s]+)/g)) {
        const link = /\/d\/([A-Za-z0-9_-]+)(?:[^?]*\?(?:.*&)?viewPanel=(\d+))?/.exec(m[1]);
        if (!link || !panels.has(link[1]) || (link[2] && !panels.get(link[1])!.has(link[2]))) bad.push(`rules/${f}: ${m[1]}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
