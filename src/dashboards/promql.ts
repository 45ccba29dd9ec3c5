import { parseExpr, PromQLError } from '../promql/index.js';
import { lezerParser } from '../promql/lezer-parser.js';

/**
 * Grafana variables as they are substituted before a query reaches the data
 * source. Values are chosen to keep the expression valid PromQL: ranges become
 * durations, label variables become a regex matching anything.
 */
const BUILTIN_VARS: Record<string, string> = {
  __rate_interval: '1m',
  __interval: '15s',
  __interval_ms: '15000',
  __range: '1h',
  __range_s: '3600',
  __range_ms: '3600000',
};

/**
 * Replaces `$var`, `${var}`, `${var:format}` and `[[var]]` the way Grafana would,
 * with `vars[name]` or, for dashboard variables, `.+` (they sit in `=~` matchers).
 */
export function expandGrafanaVars(expr: string, vars: Record<string, string> = {}): string {
  const value = (name: string) => vars[name] ?? BUILTIN_VARS[name] ?? '.+';
  return expr
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z]+)?\}/g, (_m, n: string) => value(n))
    .replace(/\[\[([A-Za-z_][A-Za-z0-9_]*)\]\]/g, (_m, n: string) => value(n))
    .replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, n: string) => value(n));
}

export interface PromqlAnalysis {
  /** Parse errors with their character offset; empty when the expression parses. */
  errors: Array<{ position: number; message: string }>;
  /** Metric names the expression selects, in order of first appearance. */
  metrics: string[];
}

/**
 * Parses with Vigil's engine (what Grafana's queries will meet: grammar plus
 * type checks) and lists the metric names selected, by name or by
 * `__name__="..."`, from Prometheus' own lezer grammar tree.
 */
export function analysePromql(expr: string): PromqlAnalysis {
  const errors: PromqlAnalysis['errors'] = [];
  const metrics: string[] = [];
  const add = (name: string) => {
    if (!metrics.includes(name)) metrics.push(name);
  };
  try {
    parseExpr(expr);
  } catch (err) {
    if (!(err instanceof PromQLError)) throw err;
    errors.push({ position: err.position ?? 0, message: err.message });
    return { errors, metrics };
  }
  const tree = lezerParser().parse(expr);
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) return false;
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id) add(expr.slice(id.from, id.to));
      } else if (node.name === 'UnquotedLabelMatcher') {
        const name = node.node.getChild('LabelName');
        const op = node.node.getChild('MatchOp');
        const val = node.node.getChild('StringLiteral');
        if (name && op && val && expr.slice(name.from, name.to) === '__name__' && expr.slice(op.from, op.to) === '=') {
          add(unquote(expr.slice(val.from, val.to)));
        }
      }
      return undefined;
    },
  });
  return { errors, metrics };
}

function unquote(s: string): string {
  if (s.startsWith('`')) return s.slice(1, -1);
  try {
    return JSON.parse(s.startsWith("'") ? `"${s.slice(1, -1).replace(/"/g, '\\"')}"` : s) as string;
  } catch {
    return s.slice(1, -1);
  }
}
