import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ScriptStorage } from './storage.js';
import { classicToNhcb } from './nhcb.js';
import { labelsKey } from '../../model/labels.js';
import type { Labels } from '../../tsdb/types.js';
import { createEngine } from '../engine.js';
import { almostEqual } from '../mathx.js';
import { goQuote } from '../../model/strconv.js';
import type { QueryResult, RangeSeries } from '../types.js';
import { CUSTOM_BUCKETS_SCHEMA, type FloatHistogram } from '../../model/histogram.js';
import { annotationMatches, parseScript, type EvalCmd, type Expected, type StepValue } from './script.js';

export interface CaseOutcome {
  line: number;
  expr: string;
  status: 'passed' | 'failed' | 'skipped';
  /** Why it failed or was skipped. */
  reason?: string;
}

export interface FileReport {
  file: string;
  cases: CaseOutcome[];
  passed: number;
  failed: number;
  skipped: number;
}

const EPSILON = 1e-6;

function sameFloat(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return almostEqual(a, b, EPSILON);
}

function fmtLabels(l: Labels | undefined): string {
  if (!l) return '(scalar)';
  const name = l.__name__ ?? '';
  const rest = Object.keys(l)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${goQuote(l[k])}`);
  return `${name}{${rest.join(', ')}}`;
}

/** Runs one test script; every eval becomes a case. */
export async function runScript(text: string, file: string): Promise<FileReport> {
  const report: FileReport = { file, cases: [], passed: 0, failed: 0, skipped: 0 };
  const add = (c: CaseOutcome) => {
    report.cases.push(c);
    report[c.status]++;
  };
  let cmds;
  try {
    cmds = parseScript(text);
  } catch (err) {
    add({ line: 0, expr: '', status: 'failed', reason: `script error: ${(err as Error).message}` });
    return report;
  }
  const storage = new ScriptStorage();
  const engine = createEngine(storage, { lookbackDeltaMs: 300_000, subqueryStepMs: 60_000, timeoutMs: 30_000 });
  for (const cmd of cmds) {
    if (cmd.kind === 'clear') {
      storage.clear();
      continue;
    }
    if (cmd.kind === 'load') {
      for (const s of cmd.series) {
        s.values.forEach((v, k) => {
          if (v !== undefined) storage.add(s.labels, k * cmd.intervalMs, v);
        });
      }
      if (cmd.nhcb) for (const n of classicToNhcb(cmd.series, cmd.intervalMs)) storage.add(n.labels, n.t, n.h);
      continue;
    }
    add(await runEval(engine, cmd));
  }
  return report;
}

async function runEval(engine: ReturnType<typeof createEngine>, cmd: EvalCmd): Promise<CaseOutcome> {
  const base = { line: cmd.line, expr: cmd.expr };
  if (cmd.unsupported) return { ...base, status: 'skipped', reason: `unsupported ${cmd.unsupported}` };
  let res: QueryResult;
  try {
    res = cmd.range
      ? await engine.rangeQuery(cmd.expr, cmd.range.start, cmd.range.end, cmd.range.step)
      : await engine.instantQuery(cmd.expr, cmd.at);
  } catch (err) {
    const msg = (err as Error).message;
    if (!cmd.fail) return { ...base, status: 'failed', reason: `unexpected error: ${msg}` };
    if (cmd.failMessage !== undefined && msg !== cmd.failMessage) {
      return { ...base, status: 'failed', reason: `error ${JSON.stringify(msg)}, expected ${JSON.stringify(cmd.failMessage)}` };
    }
    if (cmd.failRegex !== undefined && !new RegExp(cmd.failRegex).test(msg)) {
      return { ...base, status: 'failed', reason: `error ${JSON.stringify(msg)} does not match /${cmd.failRegex}/` };
    }
    return { ...base, status: 'passed' };
  }
  if (cmd.fail) return { ...base, status: 'failed', reason: 'expected an error, got a result' };
  const problem = checkAnnotations(cmd, res) ?? compareResult(cmd, res);
  return problem ? { ...base, status: 'failed', reason: problem } : { ...base, status: 'passed' };
}

/** Annotations as Prometheus's runner checks them: only what the case states is checked. */
function checkAnnotations(cmd: EvalCmd, res: QueryResult): string | undefined {
  const kinds = [
    { what: 'warn', got: res.warnings, legacy: cmd.warn, expected: cmd.expectWarn, none: cmd.noWarn },
    { what: 'info', got: res.infos, legacy: cmd.info, expected: cmd.expectInfo, none: cmd.noInfo },
  ];
  for (const k of kinds) {
    if ((k.legacy || k.expected.length > 0) && k.got.length === 0) return `expected ${k.what} annotations, got none`;
    if (k.none && k.got.length > 0) return `unexpected ${k.what} annotations: ${k.got.join('; ')}`;
    if (k.expected.length === 0) continue;
    for (const e of k.expected) {
      if (!k.got.some((g) => annotationMatches(e, g))) {
        return `no ${k.what} annotation matches ${JSON.stringify(e.message ?? e.regex?.source)}; got: ${k.got.join('; ')}`;
      }
    }
    const stray = k.got.find((g) => !k.expected.some((e) => annotationMatches(e, g)));
    if (stray !== undefined) return `unexpected ${k.what} annotation ${JSON.stringify(stray)}`;
  }
  return undefined;
}

function compareResult(cmd: EvalCmd, res: QueryResult): string | undefined {
  const v = res.value;
  const exp = cmd.expected;
  if (v.resultType === 'scalar') {
    if (exp.length !== 1 || exp[0].labels !== undefined) return `got scalar ${v.v}, expected ${exp.map((e) => e.raw).join(' | ') || 'nothing'}`;
    const want = exp[0].values[0];
    if (typeof want !== 'number' || !sameFloat(want, v.v)) return `scalar ${v.v}, expected ${exp[0].raw}`;
    return undefined;
  }
  if (v.resultType === 'string') {
    if (exp.length !== 1) return `got string ${JSON.stringify(v.v)}, expected ${exp.length} lines`;
    return exp[0].raw === JSON.stringify(v.v) || exp[0].raw === v.v ? undefined : `string ${JSON.stringify(v.v)}, expected ${exp[0].raw}`;
  }
  if (v.resultType === 'vector') {
    if (cmd.range) return 'range query returned a vector';
    if (exp.length !== v.result.length) {
      return `got ${v.result.length} series, expected ${exp.length}: got ${v.result.map((s) => `${fmtLabels(s.labels)} ${s.v}`).join(', ') || 'nothing'}`;
    }
    const byKey = new Map(v.result.map((s, i) => [labelsKey(s.labels), { s, i }]));
    for (let k = 0; k < exp.length; k++) {
      const e = exp[k];
      if (!e.labels) return `expected a series line, got ${e.raw}`;
      const hit = byKey.get(labelsKey(e.labels));
      if (!hit) return `missing ${fmtLabels(e.labels)}; got ${v.result.map((s) => fmtLabels(s.labels)).join(', ')}`;
      const problem = compareValue(e.values[0], hit.s.v, hit.s.h, e.hintSet);
      if (problem) return `${fmtLabels(e.labels)}: ${problem}, expected ${e.raw}`;
      if (cmd.ordered && hit.i !== k) return `${fmtLabels(e.labels)} at position ${hit.i}, expected ${k}`;
    }
    return undefined;
  }
  // Matrix.
  const got = new Map(v.result.map((s) => [labelsKey(s.labels), s]));
  const expSeries = exp.filter((e) => e.values.some((x) => x !== undefined));
  if (expSeries.length !== v.result.length) {
    return `got ${v.result.length} series, expected ${expSeries.length}: got ${v.result.map((s) => fmtLabels(s.labels)).join(', ') || 'nothing'}`;
  }
  for (const e of expSeries) {
    if (!e.labels) return `expected a series line, got ${e.raw}`;
    const s = got.get(labelsKey(e.labels));
    if (!s) return `missing ${fmtLabels(e.labels)}; got ${v.result.map((x) => fmtLabels(x.labels)).join(', ')}`;
    const points = pointsOf(cmd, e);
    if (points.length !== s.t.length) return `${fmtLabels(e.labels)}: got ${fmtPoints(s)}, expected ${e.raw}`;
    for (let k = 0; k < points.length; k++) {
      const [pt, pv] = points[k];
      if ((pt !== undefined && pt !== s.t[k]) || compareValue(pv, s.v[k], s.h?.[k], e.hintSet) !== undefined) {
        return `${fmtLabels(e.labels)}: got ${fmtPoints(s)}, expected ${e.raw}`;
      }
    }
  }
  return undefined;
}

/** Expected points: at start + k*step for range queries; instant matrix results compare values only. */
function pointsOf(cmd: EvalCmd, e: Expected): Array<[number | undefined, number | FloatHistogram]> {
  const out: Array<[number | undefined, number | FloatHistogram]> = [];
  e.values.forEach((x, k) => {
    if (x === undefined) return;
    const val = x === 'stale' ? NaN : x;
    out.push([cmd.range ? cmd.range.start + k * cmd.range.step : undefined, val]);
  });
  return out;
}

function fmtPoints(s: RangeSeries): string {
  return s.t.map((x, i) => `${s.h?.[i] ? fmtHistogram(s.h[i]) : s.v[i]}@${x / 1000}s`).join(' ');
}

function fmtHistogram(h: FloatHistogram): string {
  const parts = [`schema:${h.schema}`, `count:${h.count}`, `sum:${h.sum}`];
  if (h.zeroCount || h.zeroThreshold) parts.push(`z_bucket:${h.zeroCount}`, `z_bucket_w:${h.zeroThreshold}`);
  const list = (b: FloatHistogram['positive']) => b.idx.map((i, k) => `${i}:${b.cnt[k]}`).join(' ');
  if (h.positive.idx.length) parts.push(`buckets:[${list(h.positive)}]`);
  if (h.negative.idx.length) parts.push(`n_buckets:[${list(h.negative)}]`);
  if (h.customValues) parts.push(`custom_values:[${h.customValues.join(' ')}]`);
  if (h.counterResetHint !== 'unknown') parts.push(`counter_reset_hint:${h.counterResetHint}`);
  return `{{${parts.join(' ')}}}`;
}

/** Compares one expected value with a result point (a float, or a histogram when h is set). */
function compareValue(want: StepValue, v: number, h: FloatHistogram | undefined, hintSet: boolean): string | undefined {
  if (typeof want === 'object') {
    if (!h) return `got float ${v}`;
    return sameHistogram(want, h, hintSet) ? undefined : `got ${fmtHistogram(h)}`;
  }
  if (h) return `got histogram ${fmtHistogram(h)}`;
  const f = want === 'stale' ? NaN : want;
  if (typeof f !== 'number' || !sameFloat(f, v)) return `got ${v}`;
  return undefined;
}

/** As Prometheus's runner: layouts compared without empty buckets, floats with tolerance. */
function sameHistogram(a: FloatHistogram, b: FloatHistogram, hintSet: boolean): boolean {
  const buckets = (x: FloatHistogram['positive'], y: FloatHistogram['positive']) =>
    x.idx.length === y.idx.length && x.idx.every((i, k) => i === y.idx[k] && sameFloat(x.cnt[k], y.cnt[k]));
  const cv = (x?: readonly number[], y?: readonly number[]) =>
    (x ?? []).length === (y ?? []).length && (x ?? []).every((c, k) => c === (y ?? [])[k]);
  return (
    a.schema === b.schema &&
    sameFloat(a.count, b.count) &&
    sameFloat(a.sum, b.sum) &&
    (a.schema !== CUSTOM_BUCKETS_SCHEMA || cv(a.customValues, b.customValues)) &&
    a.zeroThreshold === b.zeroThreshold &&
    sameFloat(a.zeroCount, b.zeroCount) &&
    buckets(a.positive, b.positive) &&
    buckets(a.negative, b.negative) &&
    (!hintSet || a.counterResetHint === b.counterResetHint)
  );
}

/** Test scripts named by the paths: files, or directories (their *.test files). */
export async function collectScripts(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const st = await stat(p);
    if (st.isDirectory()) {
      const names = (await readdir(p)).filter((n) => n.endsWith('.test')).sort();
      out.push(...names.map((n) => join(p, n)));
    } else out.push(p);
  }
  return out;
}

export async function runFiles(files: string[]): Promise<FileReport[]> {
  const reports: FileReport[] = [];
  for (const f of files) reports.push(await runScript(await readFile(f, 'utf8'), basename(f)));
  return reports;
}

/** Outcome of one case considering the known-failures list. */
export function unexpectedFailures(reports: FileReport[], known: ReadonlyMap<string, string>): Array<CaseOutcome & { file: string }> {
  const out: Array<CaseOutcome & { file: string }> = [];
  for (const r of reports) {
    for (const c of r.cases) if (c.status === 'failed' && !known.has(`${r.file}:${c.line}`)) out.push({ ...c, file: r.file });
  }
  return out;
}

export function formatReports(reports: FileReport[], known: ReadonlyMap<string, string> = new Map()): string {
  const lines: string[] = [];
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  lines.push(`${'file'.padEnd(26)} ${pad('passed', 7)} ${pad('failed', 7)} ${pad('skipped', 8)} ${pad('pass %', 7)}`);
  let tp = 0;
  let tf = 0;
  let ts = 0;
  for (const r of reports) {
    tp += r.passed;
    tf += r.failed;
    ts += r.skipped;
    const pct = r.passed + r.failed ? ((100 * r.passed) / (r.passed + r.failed)).toFixed(1) : '-';
    lines.push(`${r.file.padEnd(26)} ${pad(r.passed, 7)} ${pad(r.failed, 7)} ${pad(r.skipped, 8)} ${pad(pct, 7)}`);
  }
  const pct = tp + tf ? ((100 * tp) / (tp + tf)).toFixed(1) : '-';
  lines.push(`${'total'.padEnd(26)} ${pad(tp, 7)} ${pad(tf, 7)} ${pad(ts, 8)} ${pad(pct, 7)}`);
  for (const r of reports) {
    for (const c of r.cases) {
      if (c.status === 'passed') continue;
      const tag = c.status === 'skipped' ? 'skip' : known.has(`${r.file}:${c.line}`) ? 'known' : 'FAIL';
      const why = c.status === 'failed' && known.has(`${r.file}:${c.line}`) ? known.get(`${r.file}:${c.line}`) : c.reason;
      lines.push(`  ${tag.padEnd(5)} ${r.file}:${c.line} ${c.expr.slice(0, 80)} -- ${why}`);
    }
  }
  return lines.join('\n');
}
