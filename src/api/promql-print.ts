/**
 * PromQL trees back to text and to JSON, for /api/v1/format_query (the
 * canonical one-line form Prometheus's String() prints) and
 * /api/v1/parse_query (the tree shape Prometheus's UI explains queries with).
 */
import type { AtModifier, Expr, VectorSelector } from '../promql/ast.js';
import { typeOf } from '../promql/parser.js';
import { FUNCTIONS } from '../promql/functions/index.js';
import { goQuote } from '../model/strconv.js';
import type { Matcher } from '../tsdb/types.js';

/** Go's strconv.FormatFloat(v, 'g', -1, 64), as fmt.Sprint prints a float. */
export function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(v)));
  const shortest = String(v);
  if (exp < -4 || exp >= 21) {
    const [m, e] = Math.abs(v).toExponential().split('e');
    const n = Number(e);
    return `${v < 0 ? '-' : ''}${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return shortest.includes('e') ? v.toFixed(Math.max(0, -exp + 15)).replace(/\.?0+$/, '') : shortest;
}

/** Prometheus's model.Duration String(): 1h30m, 5m, 90s → 1m30s, 1ms; 0s for zero. */
export function promDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  const units: Array<[string, number]> = [['y', 365 * 86400_000], ['w', 7 * 86400_000], ['d', 86400_000], ['h', 3600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];
  let out = '';
  for (const [u, n] of units) {
    if (rest >= n) {
      out += `${Math.floor(rest / n)}${u}`;
      rest %= n;
    }
  }
  return (neg ? '-' : '') + out;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const quoteName = (n: string) => (LABEL_NAME.test(n) ? n : goQuote(n));

function matchersText(sel: VectorSelector): string {
  const rest = sel.matchers.filter((m) => !(sel.name !== undefined && m.name === '__name__' && m.type === '=' && m.value === sel.name));
  const inner = rest.map((m: Matcher) => `${quoteName(m.name)}${m.type}${goQuote(m.value)}`).join(', ');
  return `${sel.name ?? ''}${inner || sel.name === undefined ? `{${inner}}` : ''}`;
}

function atText(at: AtModifier | undefined): string {
  if (!at) return '';
  if (at.kind === 'start') return ' @ start()';
  if (at.kind === 'end') return ' @ end()';
  return ` @ ${(at.ms / 1000).toFixed(3)}`;
}

function offsetText(ms: number): string {
  if (ms === 0) return '';
  return ms < 0 ? ` offset -${promDuration(-ms)}` : ` offset ${promDuration(ms)}`;
}

function grouping(labels: string[]): string {
  return labels.map(quoteName).join(', ');
}

/** The canonical text of an expression (Prometheus's Expr.String()). */
export function exprToString(e: Expr): string {
  switch (e.type) {
    case 'NumberLiteral':
      return goFloat(e.value);
    case 'StringLiteral':
      return goQuote(e.value);
    case 'VectorSelector':
      return matchersText(e) + offsetText(e.offsetMs) + atText(e.at);
    case 'MatrixSelector':
      return `${matchersText(e.vector)}[${promDuration(e.rangeMs)}]${offsetText(e.vector.offsetMs)}${atText(e.vector.at)}`;
    case 'SubqueryExpr':
      return `${exprToString(e.expr)}[${promDuration(e.rangeMs)}:${e.stepMs ? promDuration(e.stepMs) : ''}]${offsetText(e.offsetMs)}${atText(e.at)}`;
    case 'Call':
      return `${e.func}(${e.args.map(exprToString).join(', ')})`;
    case 'AggregateExpr': {
      let head = e.op;
      if (e.without) head += ` without (${grouping(e.grouping)}) `;
      else if (e.grouping.length) head += ` by (${grouping(e.grouping)}) `;
      const args = e.param ? `${exprToString(e.param)}, ${exprToString(e.expr)}` : exprToString(e.expr);
      return `${head}(${args})`;
    }
    case 'BinaryExpr': {
      let mod = e.returnBool ? ' bool' : '';
      const vm = e.matching;
      if (vm) {
        if (vm.on || vm.labels.length) mod += ` ${vm.on ? 'on' : 'ignoring'} (${grouping(vm.labels)})`;
        if (vm.card === 'many-to-one' || vm.card === 'one-to-many') {
          mod += ` ${vm.card === 'many-to-one' ? 'group_left' : 'group_right'} (${grouping(vm.include)})`;
        }
      }
      return `${exprToString(e.lhs)} ${e.op}${mod} ${exprToString(e.rhs)}`;
    }
    case 'UnaryExpr':
      return `${e.op}${exprToString(e.expr)}`;
    case 'ParenExpr':
      return `(${exprToString(e.expr)})`;
  }
}

const at = (a: AtModifier | undefined) => ({
  timestamp: a?.kind === 'time' ? a.ms : null,
  startOrEnd: a?.kind === 'start' ? 'start' : a?.kind === 'end' ? 'end' : null,
});
const matchersJson = (ms: Matcher[]) => ms.map((m) => ({ type: m.type, name: m.name, value: m.value }));

/** The tree as /api/v1/parse_query answers it (Prometheus's translateAST). */
export function exprToJson(e: Expr): unknown {
  switch (e.type) {
    case 'NumberLiteral':
      return { type: 'numberLiteral', val: goFloat(e.value) };
    case 'StringLiteral':
      return { type: 'stringLiteral', val: e.value };
    case 'VectorSelector':
      return { type: 'vectorSelector', name: e.name ?? '', matchers: matchersJson(e.matchers), offset: e.offsetMs, ...at(e.at) };
    case 'MatrixSelector':
      return { type: 'matrixSelector', name: e.vector.name ?? '', range: e.rangeMs, offset: e.vector.offsetMs, matchers: matchersJson(e.vector.matchers), ...at(e.vector.at) };
    case 'SubqueryExpr':
      return { type: 'subquery', expr: exprToJson(e.expr), range: e.rangeMs, offset: e.offsetMs, step: e.stepMs, ...at(e.at) };
    case 'Call': {
      const sig = FUNCTIONS.get(e.func);
      return {
        type: 'call',
        func: { name: e.func, argTypes: sig?.args ?? [], variadic: sig?.variadic ?? 0, returnType: sig?.returns ?? typeOf(e) },
        args: e.args.map(exprToJson),
      };
    }
    case 'AggregateExpr':
      return { type: 'aggregation', op: e.op, expr: exprToJson(e.expr), param: e.param ? exprToJson(e.param) : null, grouping: e.grouping, without: e.without };
    case 'BinaryExpr':
      return {
        type: 'binaryExpr',
        op: e.op,
        lhs: exprToJson(e.lhs),
        rhs: exprToJson(e.rhs),
        matching: e.matching ? { card: e.matching.card, labels: e.matching.labels, on: e.matching.on, include: e.matching.include } : null,
        bool: e.returnBool,
      };
    case 'UnaryExpr':
      return { type: 'unaryExpr', op: e.op, expr: exprToJson(e.expr) };
    case 'ParenExpr':
      return { type: 'parenExpr', expr: exprToJson(e.expr) };
  }
}
