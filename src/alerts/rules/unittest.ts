/**
 * Rule unit tests in promtool's format (`promtool test rules`): input series in
 * expanding notation, alert_rule_test and promql_expr_test at eval times, with
 * failures reported in promtool's wording so the two tools can be compared.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseDocument } from 'yaml';
import { formatDuration, parseDuration } from '../../model/duration.js';
import { createEngine } from '../../promql/index.js';
import { expandValues, parseSeries } from '../../promql/testing/script.js';
import { labelsKey } from '../../model/labels.js';
import { MemoryStorage } from '../../tsdb/memory.js';
import type { Labels } from '../../tsdb/types.js';
import { formatFloat } from '../../model/strconv.js';
import { AlertingRule } from './alerting.js';
import { loadRuleFile, type GroupSpec } from './file.js';
import { resolveRuleFiles } from './files.js';
import { Group, queryVector } from './group.js';

export interface UnitTestResult {
  file: string;
  ok: boolean;
  errors: string[];
  warnings: string[];
}

const MAX_TEST_FILE_BYTES = 16 * 1024 * 1024;
/** Evaluation steps one test group may run (guards against `eval_time: 10y` with `1s` intervals). */
const MAX_STEPS = 1_000_000;

interface TestGroupIn {
  interval?: string;
  name?: string;
  input_series?: Array<{ series?: string; values?: string }>;
  alert_rule_test?: Array<{ eval_time?: string; alertname?: string; exp_alerts?: Array<{ exp_labels?: Record<string, unknown>; exp_annotations?: Record<string, unknown> }> }>;
  promql_expr_test?: Array<{ expr?: string; eval_time?: string; exp_samples?: Array<{ labels?: string; value?: unknown }> }>;
  external_labels?: Record<string, unknown>;
  external_url?: string;
}

const FILE_KEYS = new Set(['rule_files', 'evaluation_interval', 'group_eval_order', 'tests']);
const GROUP_KEYS = new Set(['interval', 'name', 'input_series', 'alert_rule_test', 'promql_expr_test', 'external_labels', 'external_url']);

const dur = (s: string | undefined, fallback: number): number => (s === undefined || s === null ? fallback : parseDuration(String(s)));

/** Go's labels.Labels.String(): `{a="b", c="d"}` sorted by name. */
export function labelsString(l: Labels): string {
  return '{' + Object.keys(l).sort().map((k) => `${k}=${JSON.stringify(l[k])}`).join(', ') + '}';
}

function indentLines(lines: string, indent: string): string {
  return lines.split('\n').map((l, i) => (i > 0 ? indent + l : l)).join('\n');
}

interface LA {
  labels: Labels;
  annotations: Labels;
}

function laString(list: LA[]): string {
  if (list.length === 0) return '[]';
  const one = (la: LA) => 'Labels:' + labelsString(la.labels) + '\nAnnotations:' + labelsString(la.annotations);
  let s = '[\n0:' + indentLines('\n' + one(list[0]), '  ');
  list.slice(1).forEach((la, i) => {
    s += ',\n' + (i + 1) + ':' + indentLines('\n' + one(la), '  ');
  });
  return s + '\n]';
}

const cmpKey = (la: LA) => labelsKey(la.labels) + '\u0001' + labelsKey(la.annotations);

export async function runRuleTestFile(file: string): Promise<UnitTestResult> {
  const res: UnitTestResult = { file, ok: false, errors: [], warnings: [] };
  let raw: string;
  try {
    const buf = readFileSync(file);
    if (buf.length > MAX_TEST_FILE_BYTES) throw new Error(`file too large (${buf.length} bytes)`);
    raw = buf.toString('utf8');
  } catch (e) {
    res.errors.push(`open ${file}: ${(e as Error).message}`);
    return res;
  }
  const doc = parseDocument(raw, { uniqueKeys: true });
  if (doc.errors.length) {
    res.errors.push(`yaml: ${doc.errors[0].message.split('\n')[0]}`);
    return res;
  }
  const data = (doc.toJS({ maxAliasCount: 100 }) ?? {}) as Record<string, unknown>;
  if (typeof data !== 'object' || Array.isArray(data)) {
    res.errors.push('yaml: test file must be a mapping');
    return res;
  }
  for (const k of Object.keys(data)) if (!FILE_KEYS.has(k)) res.errors.push(`yaml: unmarshal errors:\n  field ${k} not found in type main.unitTestFile`);
  const tests = (data.tests ?? []) as TestGroupIn[];
  if (!Array.isArray(tests)) res.errors.push('yaml: "tests" must be a list');
  for (const t of Array.isArray(tests) ? tests : [])
    for (const k of Object.keys(t ?? {})) if (!GROUP_KEYS.has(k)) res.errors.push(`yaml: unmarshal errors:\n  field ${k} not found in type main.testGroup`);
  if (res.errors.length) return res;

  let evalInterval: number;
  try {
    evalInterval = dur(data.evaluation_interval as string | undefined, 60_000) || 60_000;
  } catch (e) {
    res.errors.push((e as Error).message);
    return res;
  }
  const order = new Map<string, number>();
  for (const [i, g] of ((data.group_eval_order ?? []) as string[]).entries()) {
    if (order.has(g)) {
      res.errors.push(`group name repeated in evaluation order: ${g}`);
      return res;
    }
    order.set(g, i);
  }
  const { files, errors: globErrors } = resolveRuleFiles(((data.rule_files ?? []) as string[]).map(String), dirname(file));
  for (const e of globErrors) res.warnings.push(`  WARNING: no file match pattern ${e.replace(/: no such file or directory$/, '')}`);
  const specs: GroupSpec[] = [];
  for (const f of files) {
    const r = loadRuleFile(f);
    if (r.errors.length) {
      res.errors.push(...r.errors);
      return res;
    }
    specs.push(...r.groups);
  }
  specs.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
  for (const tg of Array.isArray(tests) ? tests : []) {
    try {
      res.errors.push(...(await runTestGroup(tg ?? {}, specs, evalInterval)));
    } catch (e) {
      res.errors.push((e as Error).message);
    }
  }
  res.ok = res.errors.length === 0;
  return res;
}

async function runTestGroup(tg: TestGroupIn, specs: GroupSpec[], evalInterval: number): Promise<string[]> {
  const interval = dur(tg.interval, 60_000) || 60_000;
  const storage = new MemoryStorage();
  for (const s of tg.input_series ?? []) {
    const { labels, rest } = parseSeries(String(s.series ?? ''), 0);
    if (rest.trim()) throw new Error(`bad series ${JSON.stringify(s.series)}`);
    const { values } = expandValues(String(s.values ?? ''), 0);
    values.forEach((v, i) => {
      if (v === undefined) return;
      if (v === 'stale') storage.add(labels, i * interval, NaN, true);
      else if (typeof v === 'number') storage.add(labels, i * interval, v);
      else throw new Error(`native histogram values in input_series are not supported: ${JSON.stringify(s.series)}`);
    });
  }
  const engine = createEngine(storage, { subqueryStepMs: evalInterval });
  const externalLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(tg.external_labels ?? {})) externalLabels[k] = String(v);
  const groups = specs.map(
    (spec) =>
      new Group(spec, {
        engine,
        storage,
        defaultIntervalMs: interval,
        externalLabels,
        externalUrl: tg.external_url ?? '',
        resendDelayMs: 60_000,
        outageToleranceMs: 3_600_000,
        forGracePeriodMs: 0,
        now: () => 0,
      }),
  );
  for (const g of groups) for (const r of g.rules) if (r instanceof AlertingRule) r.restored = true;

  const errs: string[] = [];
  const alertTests = tg.alert_rule_test ?? [];
  const exprTests = tg.promql_expr_test ?? [];
  for (const a of alertTests) {
    if (!a.alertname) {
      const groupLog = tg.name ? ` (in TestGroup ${tg.name})` : '';
      return [`an item under alert_rule_test misses required attribute alertname at eval_time ${formatDuration(dur(a.eval_time, 0))}${groupLog}`];
    }
  }
  const evalTimes = [...new Set(alertTests.map((a) => dur(a.eval_time, 0)))].sort((x, y) => x - y);
  const maxt = Math.max(0, ...alertTests.map((a) => dur(a.eval_time, 0)), ...exprTests.map((e) => dur(e.eval_time, 0)));
  if (maxt / evalInterval > MAX_STEPS) throw new Error(`too many evaluation steps: ${Math.ceil(maxt / evalInterval)} (limit ${MAX_STEPS})`);
  let curr = 0;
  for (let ts = 0; ts <= maxt; ts += evalInterval) {
    const evalErrs: string[] = [];
    for (const g of groups) {
      await g.evaluate(ts);
      for (const r of g.rules) if (r.lastError) evalErrs.push(`    rule: ${r.name}, time: ${formatDuration(ts)}, err: ${r.lastError}`);
    }
    if (evalErrs.length) return [...errs, ...evalErrs];
    while (curr < evalTimes.length && ts <= evalTimes[curr] && evalTimes[curr] < ts + evalInterval) {
      const t = evalTimes[curr];
      for (const tc of alertTests.filter((a) => dur(a.eval_time, 0) === t)) {
        const got: LA[] = [];
        for (const g of groups)
          for (const r of g.rules)
            if (r instanceof AlertingRule && r.name === tc.alertname)
              for (const a of r.active.values()) if (a.state === 'firing') got.push({ labels: a.labels, annotations: a.annotations });
        const exp: LA[] = (tc.exp_alerts ?? []).map((e) => ({
          labels: { ...stringMap(e.exp_labels), alertname: String(tc.alertname) },
          annotations: stringMap(e.exp_annotations),
        }));
        got.sort((x, y) => (cmpKey(x) < cmpKey(y) ? -1 : 1));
        exp.sort((x, y) => (cmpKey(x) < cmpKey(y) ? -1 : 1));
        if (got.map(cmpKey).join('\n') !== exp.map(cmpKey).join('\n')) {
          const name = tg.name ? `    name: ${tg.name},\n` : '';
          errs.push(
            `${name}    alertname: ${tc.alertname}, time: ${formatDuration(t)}, \n        exp:${indentLines(laString(exp), '            ')}, \n        got:${indentLines(laString(got), '            ')}`,
          );
        }
      }
      curr++;
    }
  }
  for (const tc of exprTests) {
    const t = dur(tc.eval_time, 0);
    const expr = String(tc.expr ?? '');
    let got;
    try {
      got = await queryVector(engine, expr, t);
    } catch (e) {
      errs.push(`    expr: ${JSON.stringify(expr)}, time: ${formatDuration(t)}, err: ${(e as Error).message}`);
      continue;
    }
    const exp: Array<{ labels: Labels; v: number }> = [];
    let bad = false;
    for (const s of tc.exp_samples ?? []) {
      try {
        const { labels, rest } = parseSeries(String(s.labels ?? '{}'), 0);
        if (rest.trim()) throw new Error(`unexpected ${JSON.stringify(rest.trim())}`);
        exp.push({ labels, v: Number(s.value ?? 0) });
      } catch (e) {
        errs.push(`    expr: ${JSON.stringify(expr)}, time: ${formatDuration(t)}, err: labels ${JSON.stringify(s.labels)}: ${(e as Error).message}`);
        bad = true;
        break;
      }
    }
    if (bad) continue;
    const key = (s: { labels: Labels; v: number }) => labelsKey(s.labels);
    exp.sort((a, b) => (key(a) < key(b) ? -1 : 1));
    got.sort((a, b) => (key(a) < key(b) ? -1 : 1));
    const same =
      exp.length === got.length &&
      exp.every((e, i) => key(e) === key(got[i]) && (e.v === got[i].v || (Number.isNaN(e.v) && Number.isNaN(got[i].v))));
    if (!same) {
      const str = (l: Array<{ labels: Labels; v: number }>) => (l.length ? l.map((s) => `${labelsString(s.labels)} ${formatFloat(s.v, 'E', -1)}`).join(', ') : 'nil');
      errs.push(`    expr: ${JSON.stringify(expr)}, time: ${formatDuration(t)},\n        exp: ${str(exp)}\n        got: ${str(got)}`);
    }
  }
  return errs;
}

function stringMap(m: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) out[k] = String(v);
  return out;
}

/** promtool's output for a list of test files; returns the exit code. */
export async function runRuleTests(files: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let failed = false;
  for (const f of files) {
    out(`Unit Testing:  ${f}`);
    const r = await runRuleTestFile(f);
    for (const w of r.warnings) err(w);
    if (!r.ok) {
      err('  FAILED:');
      for (const e of r.errors) {
        err(e);
        out('');
      }
      failed = true;
    } else out('  SUCCESS');
    out('');
  }
  return failed ? 1 : 0;
}
