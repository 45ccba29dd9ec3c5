/**
 * The checks behind the dashboards' CI gate: every PromQL query a dashboard or a
 * rule file holds parses, and every metric it names is in the catalogue.
 */
import { z } from 'zod';
import { parseYamlText } from '../config/yaml-file.js';
import { indexCatalogue, type MetricIndex, type MetricInfo } from './catalogue.js';
import { analysePromql, expandGrafanaVars } from './promql.js';

export interface DashboardQuery {
  /** Where the query sits, for messages: `panel "Errors" (id 3) query A`. */
  where: string;
  /** The expression as written, with Grafana variables. */
  expr: string;
  /** Panel id, for range/instant evaluation by tests. */
  panelId?: number;
  instant?: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const dsType = (v: unknown): string | undefined => (isObj(v) && typeof v.type === 'string' ? v.type : undefined);

/**
 * The expression inside a Prometheus variable query (`label_values(up{job="x"}, instance)`,
 * `query_result(expr)`), or undefined for queries that name no metric.
 */
export function variableQueryExpr(query: string): string | undefined {
  const q = query.trim();
  let m = /^label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$/s.exec(q);
  if (m) return m[1];
  m = /^query_result\((.*)\)$/s.exec(q);
  if (m) return m[1];
  if (/^(label_values\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)|label_names\(\)|metrics\(.*\))$/s.test(q)) return undefined;
  return q;
}

/** Every Prometheus query of a dashboard JSON: panel targets and template variables. */
export function prometheusQueries(dash: unknown): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  if (!isObj(dash)) return out;
  const visit = (panels: unknown) => {
    if (!Array.isArray(panels)) return;
    for (const p of panels) {
      if (!isObj(p)) continue;
      visit(p.panels);
      if (!Array.isArray(p.targets)) continue;
      for (const t of p.targets) {
        if (!isObj(t) || typeof t.expr !== 'string') continue;
        const type = dsType(t.datasource) ?? dsType(p.datasource);
        if (type !== undefined && type !== 'prometheus') continue;
        out.push({
          where: `panel "${String(p.title ?? '')}" (id ${String(p.id)}) query ${String(t.refId ?? '?')}`,
          expr: t.expr,
          panelId: typeof p.id === 'number' ? p.id : undefined,
          instant: t.instant === true,
        });
      }
    }
  };
  visit(dash.panels);
  const vars = isObj(dash.templating) && Array.isArray(dash.templating.list) ? dash.templating.list : [];
  for (const v of vars) {
    if (!isObj(v) || v.type !== 'query' || dsType(v.datasource) !== 'prometheus') continue;
    const q = typeof v.query === 'string' ? v.query : isObj(v.query) && typeof v.query.query === 'string' ? v.query.query : undefined;
    const expr = q === undefined ? undefined : variableQueryExpr(q);
    if (expr !== undefined) out.push({ where: `variable ${String(v.name)}`, expr });
  }
  return out;
}

export interface CheckIssue {
  /** File (or dashboard uid) and position inside it. */
  where: string;
  kind: 'parse' | 'unknown-metric';
  message: string;
}

/** Parses one expression and looks its metrics up; `where` prefixes every issue. */
export function checkExpr(where: string, expr: string, index: MetricIndex): CheckIssue[] {
  const issues: CheckIssue[] = [];
  const a = analysePromql(expandGrafanaVars(expr));
  for (const e of a.errors) issues.push({ where, kind: 'parse', message: `${e.message} (offset ${e.position}) in: ${expr}` });
  for (const name of a.metrics) {
    if (!index.has(name)) issues.push({ where, kind: 'unknown-metric', message: `metric ${name} is not in the catalogue (src/dashboards/catalogue.ts)${suggest(name, index)}` });
  }
  return issues;
}

function suggest(name: string, index: MetricIndex): string {
  let best: string | undefined;
  let bestD = 4;
  for (const k of index.keys()) {
    const d = distance(name, k, bestD);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best ? `; did you mean ${best}?` : '';
}

function distance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

export function checkDashboard(name: string, dash: unknown, index: MetricIndex = indexCatalogue()): CheckIssue[] {
  return prometheusQueries(dash).flatMap((q) => checkExpr(`${name}: ${q.where}`, q.expr, index));
}

const ruleFileSchema = z.object({
  groups: z.array(
    z.looseObject({
      name: z.string(),
      rules: z.array(z.looseObject({ record: z.string().optional(), alert: z.string().optional(), expr: z.union([z.string(), z.number()]) })).default([]),
    }),
  ),
});

export interface RuleFile {
  file: string;
  text: string;
}

/**
 * Checks Prometheus rule files. Recording rules define new series names, so
 * they join the catalogue (as source `rules`) for every file checked together.
 * A file that is not a rule file yields a `parse` issue naming file and line.
 */
export function checkRuleFiles(files: RuleFile[], base: readonly MetricInfo[]): CheckIssue[] {
  const issues: CheckIssue[] = [];
  const parsed: Array<{ file: string; doc: z.output<typeof ruleFileSchema> }> = [];
  for (const f of files) {
    try {
      parsed.push({ file: f.file, doc: parseYamlText(f.text, f.file, ruleFileSchema, { interpolate: false }) });
    } catch (err) {
      issues.push({ where: f.file, kind: 'parse', message: (err as Error).message });
    }
  }
  const known = new Map(base.map((m) => [m.name, m]));
  for (const { doc } of parsed) {
    for (const g of doc.groups) {
      for (const r of g.rules) {
        if (r.record && !known.has(r.record)) known.set(r.record, { name: r.record, type: 'gauge', source: 'rules', help: `recording rule in group ${g.name}` });
      }
    }
  }
  const index = indexCatalogue([...known.values()]);
  for (const { file, doc } of parsed) {
    doc.groups.forEach((g, gi) =>
      g.rules.forEach((r, ri) => {
        const label = r.alert ? `alert ${r.alert}` : r.record ? `record ${r.record}` : `rule ${ri}`;
        issues.push(...checkExpr(`${file}: groups[${gi}] (${g.name}) rules[${ri}] ${label}`, String(r.expr), index));
      }),
    );
  }
  return issues;
}
