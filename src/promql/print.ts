/**
 * PromQL trees back to text and to JSON, for /api/v1/format_query (the
 * canonical one-line form Prometheus's String() prints) and
 * /api/v1/parse_query (the tree shape Prometheus's UI explains queries with).
 */
import type { AtModifier, Expr, VectorSelector } from './ast.js';
import { typeOf } from './parser.js';
import { FUNCTIONS } from './functions/index.js';
import { formatDuration } from '../model/duration.js';
import { formatFloat, goQuote } from '../model/strconv.js';
import type { Matcher } from '../tsdb/types.js';

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
  return ms < 0 ? ` offset -${formatDuration(-ms)}` : ` offset ${formatDuration(ms)}`;
}

function grouping(labels: string[]): string {
  return labels.map(quoteName).join(', ');
}

/** The canonical text of an expression (Prometheus's Expr.String()). */
export function exprToString(e: Expr): string {
  switch (e.type) {
    case 'NumberLiteral':
      return formatFloat(e.value);
    case 'StringLiteral':
      return goQuote(e.value);
    case 'VectorSelector':
      return matchersText(e) + offsetText(e.offsetMs) + atText(e.at);
    case 'MatrixSelector':
      return `${matchersText(e.vector)}[${formatDuration(e.rangeMs)}]${offsetText(e.vector.offsetMs)}${atText(e.vector.at)}`;
    case 'SubqueryExpr':
      return `${exprToString(e.expr)}[${formatDuration(e.rangeMs)}:${e.stepMs ? formatDuration(e.stepMs) : ''}]${offsetText(e.offsetMs)}${atText(e.at)}`;
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
      return { type: 'numberLiteral', val: formatFloat(e.value) };
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
