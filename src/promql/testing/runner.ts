import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { MemoryStorage } from '../../tsdb/memory.js';
import { labelsKey } from '../../model/labels.js';
import { matchesAll } from '../../model/matchers.js';
import type { Labels, Matcher } from '../../tsdb/types.js';
import type { Expr } from '../ast.js';
import { createEngine } from '../engine.js';
import { almostEqual } from '../mathx.js';
import { parseExpr } from '../parser.js';
import { goQuote } from '../../model/strconv.js';
import type { QueryResult } from '../types.js';
import { parseScript, type EvalCmd, type Expected } from './script.js';
import { compileUnanchoredRegex } from '../../model/regex.js';

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
const NATIVE_SKIP = 'native histograms are out of scope';

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

function selectorsOf(e: Expr, out: Matcher[][] = []): Matcher[][] {
  switch (e.type) {
    case 'VectorSelector':
      out.push(e.matchers);
      break;
    case 'MatrixSelector':
      out.push(e.vector.matchers);
      break;
    case 'SubqueryExpr':
    case 'ParenExpr':
    case 'UnaryExpr':
      selectorsOf(e.expr, out);
      break;
    case 'AggregateExpr':
      selectorsOf(e.expr, out);
      if (e.param) selectorsOf(e.param, out);
      break;
    case 'BinaryExpr':
      selectorsOf(e.lhs, out);
      selectorsOf(e.rhs, out);
      break;
    case 'Call':
      for (const a of e.args) selectorsOf(a, out);
      break;
    default:
      break;
  }
  return out;
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
  const storage = new MemoryStorage();
  const engine = createEngine(storage, { lookbackDeltaMs: 300_000, subqueryStepMs: 60_000, timeoutMs: 30_000 });
  /** Label sets of native-histogram series loaded since the last clear. */
  let native: Labels[] = [];
  for (const cmd of cmds) {
    if (cmd.kind === 'clear') {
      storage.clear();
      native = [];
      continue;
    }
    if (cmd.kind === 'load') {
      for (const s of cmd.series) {
        if (s.native) native.push(s.labels);
        if (cmd.nhcb && s.labels.__name__?.endsWith('_bucket')) {
          const l: Record<string, string> = { ...s.labels, __name__: s.labels.__name__.slice(0, -'_bucket'.length) };
          delete l.le;
          native.push(l);
        }
        s.values.forEach((v, k) => {
          if (v === undefined) return;
          const t = k * cmd.intervalMs;
          try {
            if (v === 'stale') storage.add(s.labels, t, NaN, true);
            else storage.add(s.labels, t, v);
          } catch {
            // Loads are additive; a repeated timestamp keeps the first sample.
          }
        });
      }
      continue;
    }
    add(await runEval(engine, cmd, native));
  }
  return report;
}

async function runEval(engine: ReturnType<typeof createEngine>, cmd: EvalCmd, native: Labels[]): Promise<CaseOutcome> {
  const base = { line: cmd.line, expr: cmd.expr };
  if (cmd.unsupported) return { ...base, status: 'skipped', reason: `unsupported ${cmd.unsupported}` };
  if (cmd.expected.some((e) => e.native)) return { ...base, status: 'skipped', reason: `${NATIVE_SKIP} (expected result)` };
  let ast: Expr | undefined;
  try {
    ast = parseExpr(cmd.expr);
  } catch {
    ast = undefined;
  }
  if (ast && native.length) {
    const sels = selectorsOf(ast);
    if (sels.some((ms) => native.some((l) => matchesAll(l, ms)))) {
      return { ...base, status: 'skipped', reason: `${NATIVE_SKIP} (query reads native histogram series)` };
    }
  }
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
    if (cmd.failRegex !== undefined && !compileUnanchoredRegex(cmd.failRegex).test(msg)) {
      return { ...base, status: 'failed', reason: `error ${JSON.stringify(msg)} does not match /${cmd.failRegex}/` };
    }
    return { ...base, status: 'passed' };
  }
  if (cmd.fail) return { ...base, status: 'failed', reason: 'expected an error, got a result' };
  const problem = checkAnnotations(cmd, res) ?? compareResult(cmd, res);
  return problem ? { ...base, status: 'failed', reason: problem } : { ...base, status: 'passed' };
}

function checkAnnotations(cmd: EvalCmd, res: QueryResult): string | undefined {
  const w = res.warnings.length > 0;
  const i = res.infos.length > 0;
  if (cmd.warn === true && !w) return 'expected warnings, got none';
  if (cmd.warn !== true && w && !(cmd.info === true && cmd.warn === undefined)) return `unexpected warnings: ${res.warnings.join('; ')}`;
  if (cmd.info === true && !i) return 'expected info annotations, got none';
  if (cmd.info !== true && i && !(cmd.warn === true && cmd.info === undefined)) return `unexpected info annotations: ${res.infos.join('; ')}`;
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
      const want = e.values[0];
      if (typeof want !== 'number' || !sameFloat(want, hit.s.v)) return `${fmtLabels(e.labels)}: got ${hit.s.v}, expected ${e.raw}`;
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
    if (points.length !== s.t.length) return `${fmtLabels(e.labels)}: got ${fmtPoints(s.t, s.v)}, expected ${e.raw}`;
    for (let k = 0; k < points.length; k++) {
      const [pt, pv] = points[k];
      if ((pt !== undefined && pt !== s.t[k]) || !sameFloat(pv, s.v[k])) {
        return `${fmtLabels(e.labels)}: got ${fmtPoints(s.t, s.v)}, expected ${e.raw}`;
      }
    }
  }
  return undefined;
}

/** Expected points: at start + k*step for range queries; instant matrix results compare values only. */
function pointsOf(cmd: EvalCmd, e: Expected): Array<[number | undefined, number]> {
  const out: Array<[number | undefined, number]> = [];
  e.values.forEach((x, k) => {
    if (x === undefined) return;
    const val = x === 'stale' ? NaN : x;
    out.push([cmd.range ? cmd.range.start + k * cmd.range.step : undefined, val]);
  });
  return out;
}

function fmtPoints(t: number[], v: number[]): string {
  return t.map((x, i) => `${v[i]}@${x / 1000}s`).join(' ');
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
