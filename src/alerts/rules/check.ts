/**
 * `check rules`: validation with promtool's output, and the lint that finds
 * selectors matching no series ever stored (a misspelt metric name never fires).
 */
import type { Expr, VectorSelector } from '../../promql/ast.js';
import type { Matcher, Querier } from '../../tsdb/types.js';
import { loadRuleFile, type GroupSpec } from './file.js';

export function checkRuleFiles(files: string[], out: (s: string) => void, err: (s: string) => void): { code: number; groups: GroupSpec[] } {
  let failed = false;
  const groups: GroupSpec[] = [];
  for (const f of files) {
    out(`Checking ${f}`);
    const r = loadRuleFile(f);
    if (r.errors.length) {
      err('  FAILED:');
      for (const e of r.errors) err(e);
      out('');
      failed = true;
      continue;
    }
    const n = r.groups.reduce((a, g) => a + g.rules.length, 0);
    out(`  SUCCESS: ${n} rules found`);
    out('');
    groups.push(...r.groups);
  }
  return { code: failed ? 1 : 0, groups };
}

export function vectorSelectors(e: Expr): VectorSelector[] {
  const out: VectorSelector[] = [];
  const walk = (x: Expr): void => {
    switch (x.type) {
      case 'VectorSelector':
        out.push(x);
        return;
      case 'MatrixSelector':
        out.push(x.vector);
        return;
      case 'SubqueryExpr':
      case 'ParenExpr':
      case 'UnaryExpr':
        walk(x.expr);
        return;
      case 'Call':
        x.args.forEach(walk);
        return;
      case 'AggregateExpr':
        walk(x.expr);
        if (x.param) walk(x.param);
        return;
      case 'BinaryExpr':
        walk(x.lhs);
        walk(x.rhs);
        return;
    }
  };
  walk(e);
  return out;
}

function selectorString(ms: Matcher[]): string {
  const name = ms.find((m) => m.name === '__name__' && m.type === '=')?.value ?? '';
  const rest = ms.filter((m) => !(m.name === '__name__' && m.type === '='));
  return name + (rest.length || !name ? `{${rest.map((m) => `${m.name}${m.type}${JSON.stringify(m.value)}`).join(', ')}}` : '');
}

/** Series names produced by rules themselves count as existing (recording rules, ALERTS). */
export type SeriesExists = (matchers: Matcher[]) => Promise<boolean>;

export function querierExists(q: Querier, mint = 0, maxt = Number.MAX_SAFE_INTEGER): SeriesExists {
  return async (ms) => q.series(ms, mint, maxt).length > 0;
}

export async function lintAgainstStorage(groups: GroupSpec[], exists: SeriesExists): Promise<string[]> {
  const recorded = new Set(groups.flatMap((g) => g.rules.filter((r) => r.kind === 'record').map((r) => r.name)));
  recorded.add('ALERTS');
  recorded.add('ALERTS_FOR_STATE');
  const problems: string[] = [];
  for (const g of groups)
    for (const [i, r] of g.rules.entries()) {
      for (const sel of vectorSelectors(r.ast)) {
        const name = sel.matchers.find((m) => m.name === '__name__' && m.type === '=')?.value;
        if (name && recorded.has(name)) continue;
        if (!(await exists(sel.matchers)))
          problems.push(`${g.file}: ${r.line}: group "${g.name}", rule ${i + 1}, "${r.name}": selector ${selectorString(sel.matchers)} matches no series in storage`);
      }
    }
  return problems;
}
