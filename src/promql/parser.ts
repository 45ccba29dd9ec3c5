import type { SyntaxNode, Tree } from '@lezer/common';
import type { Matcher, MatchType } from '../tsdb/types.js';
import { parseDuration } from '../model/duration.js';
import { compileMatcherRegex } from '../model/regex.js';
import {
  TYPE_NAMES,
  isComparison,
  isSetOp,
  type AggregateOp,
  type AtModifier,
  type DurationExpr,
  type BinaryOp,
  type Expr,
  type ValueType,
  type VectorMatching,
  type VectorSelector,
} from './ast.js';
import { DurationError, dependsOnQuery, durationMs } from './durations.js';
import { FUNCTIONS } from './functions/index.js';
import { lezerInput } from './lezer-input.js';
import { lezerParser } from './lezer-parser.js';
import { goQuote } from '../model/strconv.js';
import { StringSyntaxError, unquote } from './strings.js';
import { PromQLError } from './types.js';

/** Longest expression accepted, in characters. */
export const MAX_EXPR_LENGTH = 256 * 1024;
/** Deepest syntax tree accepted; guards the recursive evaluator's stack. */
export const MAX_TREE_DEPTH = 1000;

const AGGREGATORS = new Set<string>([
  'sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar',
  'topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio',
]);
const PARAM_AGGREGATORS = new Set<string>(['topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio']);
const KEYWORDS = new Set<string>([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'start', 'end',
  'and', 'or', 'unless', 'atan2', 'step', 'range', 'min_of', 'max_of', 'smoothed', 'anchored', 'fill',
  'fill_left', 'fill_right', 'info',
]);

const OP_NODES: Record<string, BinaryOp> = {
  Pow: '^', Mul: '*', Div: '/', Mod: '%', Atan2: 'atan2', Add: '+', Sub: '-',
  Eql: '==', Neq: '!=', Gtr: '>', Lss: '<', Gte: '>=', Lte: '<=',
  And: 'and', Or: 'or', Unless: 'unless',
};
const MATCH_OPS: Record<string, MatchType> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };

class Converter {
  constructor(private readonly input: string) {}

  fail(node: { from: number } | number, msg: string): never {
    const pos = typeof node === 'number' ? node : node.from;
    throw parseError(this.input, pos, msg);
  }

  text(n: SyntaxNode): string {
    return this.input.slice(n.from, n.to);
  }

  children(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
    return out;
  }

  expr(n: SyntaxNode): Expr {
    const pos = { start: n.from, end: n.to };
    const kids = this.children(n);
    switch (n.type.name) {
      case 'PromQL':
        if (kids.length !== 1) this.fail(n, 'no expression found in input');
        return this.expr(kids[0]);
      case 'NumberDurationLiteral':
        return { type: 'NumberLiteral', value: this.number(n), pos };
      case 'StringLiteral':
        return { type: 'StringLiteral', value: this.string(n), pos };
      case 'ParenExpr':
        return { type: 'ParenExpr', expr: this.expr(kids[0]), pos };
      case 'UnaryExpr': {
        const op = this.text(kids[0]) as '-' | '+';
        const inner = this.expr(kids[1]);
        // Fold signs into number literals as Prometheus does.
        if (inner.type === 'NumberLiteral') return { ...inner, value: op === '-' ? -inner.value : inner.value, pos };
        return { type: 'UnaryExpr', op, expr: inner, pos };
      }
      case 'VectorSelector':
        return this.vectorSelector(n, kids);
      case 'MatrixSelector': {
        const inner = this.expr(kids[0]);
        const { ms: rangeMs, expr: rangeExpr } = this.duration(kids[1]);
        return applyPostfix(inner, (e) => {
          if (e.type !== 'VectorSelector') {
            if (e.type === 'ParenExpr' || e.type === 'Call' || e.type === 'AggregateExpr' || e.type === 'NumberLiteral') {
              this.fail(n, 'ranges only allowed for vector selectors');
            }
            this.fail(n, 'ranges only allowed for vector selectors');
          }
          if (e.offsetMs !== 0 || e.at) this.fail(n, 'no offset or @ modifiers allowed before range');
          if (rangeMs <= 0 && !rangeExpr) this.fail(kids[1], `range must be greater than 0, got ${this.text(kids[1])}`);
          return { type: 'MatrixSelector', vector: e, rangeMs, rangeExpr, pos: { start: e.pos.start, end: n.to } };
        });
      }
      case 'SubqueryExpr': {
        const inner = this.expr(kids[0]);
        const durs = kids.filter((k) => k.type.name === 'DurationExpr');
        const { ms: rangeMs, expr: rangeExpr } = this.duration(durs[0]);
        const { ms: stepMs, expr: stepExpr } = durs[1] ? this.duration(durs[1]) : { ms: 0, expr: undefined };
        if (rangeMs <= 0 && !rangeExpr) this.fail(durs[0], 'subquery range must be greater than 0');
        if (durs[1] && stepMs <= 0 && !stepExpr) this.fail(durs[1], 'zero or negative subquery step');
        return applyPostfix(inner, (e) => {
          const t = typeOf(e);
          if (t !== 'vector') this.fail(n, `subquery is only allowed on instant vector, got ${TYPE_NAMES[t]} instead`);
          return { type: 'SubqueryExpr', expr: e, rangeMs, stepMs, rangeExpr, stepExpr, offsetMs: 0, at: undefined, pos: { start: e.pos.start, end: n.to } };
        });
      }
      case 'OffsetExpr': {
        const inner = this.expr(kids[0]);
        const off = this.offset(kids[2]);
        return applyPostfix(inner, (e) => {
          const target = e.type === 'MatrixSelector' ? e.vector : e;
          if (target.type !== 'VectorSelector' && target.type !== 'SubqueryExpr') {
            this.fail(kids[1], 'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery');
          }
          if (target.offsetMs !== 0 || target.offsetExpr) this.fail(kids[1], 'offset may not be set multiple times');
          target.offsetMs = off.ms;
          target.offsetExpr = off.expr;
          return e;
        });
      }
      case 'StepInvariantExpr': {
        const inner = this.expr(kids[0]);
        const at = this.at(kids[2]);
        return applyPostfix(inner, (e) => {
          const target = e.type === 'MatrixSelector' ? e.vector : e;
          if (target.type !== 'VectorSelector' && target.type !== 'SubqueryExpr') {
            this.fail(kids[1], '@ modifier must be preceded by an instant vector selector or range vector selector or a subquery');
          }
          if (target.at) this.fail(kids[1], '@ <timestamp> may not be set multiple times');
          target.at = at;
          return e;
        });
      }
      case 'FunctionCall':
        return this.call(n, kids);
      case 'AggregateExpr':
        return this.aggregate(n, kids);
      case 'BinaryExpr':
        return this.binary(n, kids);
      case 'AnchoredExpr':
      case 'SmoothedExpr':
        return this.fail(n, `the ${n.type.name === 'AnchoredExpr' ? 'anchored' : 'smoothed'} modifier is experimental and not supported`);
      default:
        return this.fail(n, `unexpected ${n.type.name}`);
    }
  }

  number(n: SyntaxNode): number {
    let s = this.text(n).trim();
    let sign = 1;
    if (s[0] === '-' || s[0] === '+') {
      if (s[0] === '-') sign = -1;
      s = s.slice(1).trim();
    }
    return sign * parseNumber(s, (m) => this.fail(n, m));
  }

  string(n: SyntaxNode): string {
    try {
      return unquote(this.text(n));
    } catch (err) {
      if (err instanceof StringSyntaxError) this.fail(n, err.message);
      throw err;
    }
  }

  /** A range or subquery step: a literal, or an expression (computed now if constant). */
  duration(n: SyntaxNode): { ms: number; expr?: DurationExpr } {
    const kids = this.children(n);
    if (kids.length === 1 && kids[0].type.name === 'NumberDurationLiteralInDurationContext') {
      return { ms: parseDurationLiteral(this.text(kids[0]), (m) => this.fail(n, m)) };
    }
    return this.durationExpr(n, false);
  }

  offset(n: SyntaxNode): { ms: number; expr?: DurationExpr } {
    const kids = this.children(n);
    if (kids.length === 1 && kids[0].type.name === 'NumberDurationLiteralInDurationContext') {
      return { ms: parseDurationLiteral(this.text(kids[0]), (m) => this.fail(n, m), true) };
    }
    if (kids.length === 2 && kids[0].type.name === 'UnaryOp') {
      const inner = this.children(kids[1]);
      if (inner.length === 1 && inner[0].type.name === 'NumberDurationLiteralInDurationContext') {
        const sign = this.text(kids[0]) === '-' ? -1 : 1;
        return { ms: sign * parseDurationLiteral(this.text(inner[0]), (m) => this.fail(n, m), true) };
      }
    }
    return this.durationExpr(n, true);
  }

  private durationExpr(n: SyntaxNode, allowNegative: boolean): { ms: number; expr?: DurationExpr } {
    const tree = this.durationTree(n);
    if (dependsOnQuery(tree)) return { ms: 0, expr: tree };
    try {
      return { ms: durationMs(tree, { stepSeconds: 0, rangeSeconds: 0 }, allowNegative) };
    } catch (err) {
      if (err instanceof DurationError) this.fail(n, err.message);
      throw err;
    }
  }

  private durationTree(n: SyntaxNode): DurationExpr {
    const kids = this.children(n);
    const names = kids.map((k) => k.type.name);
    if (kids.some((k) => k.type.isError)) this.fail(n, `unexpected ${goQuote(this.text(n))} in duration expression`);
    if (kids.length === 1) {
      switch (names[0]) {
        case 'NumberDurationLiteralInDurationContext':
          return { kind: 'literal', seconds: parseDurationLiteral(this.text(kids[0]), (m) => this.fail(n, m), true) / 1000 };
        case 'DurationStep':
          return { kind: 'step' };
        case 'DurationRange':
          return { kind: 'range' };
        default:
          return this.durationTree(kids[0]);
      }
    }
    if (kids.length === 2 && names[0] === 'UnaryOp') {
      return { kind: 'unary', op: this.text(kids[0]) === '-' ? '-' : '+', expr: this.durationTree(kids[1]) };
    }
    if (kids.length === 3 && (names[0] === 'DurationMinOf' || names[0] === 'DurationMaxOf')) {
      return { kind: names[0] === 'DurationMinOf' ? 'min_of' : 'max_of', lhs: this.durationTree(kids[1]), rhs: this.durationTree(kids[2]) };
    }
    const op = kids.length === 3 ? DURATION_OPS[names[1]] : undefined;
    if (!op) return this.fail(n, `unexpected ${goQuote(this.text(n))} in duration expression`);
    return { kind: 'binary', op, lhs: this.durationTree(kids[0]), rhs: this.durationTree(kids[2]) };
  }

  at(n: SyntaxNode): AtModifier {
    if (n.type.name === 'AtModifierPreprocessors') {
      return this.text(n).trim() === 'start' ? { kind: 'start' } : { kind: 'end' };
    }
    const secs = this.number(n);
    const ms = Math.round(secs * 1000);
    if (!Number.isFinite(secs) || !Number.isSafeInteger(ms)) this.fail(n, `timestamp out of bounds for @ modifier: ${secs}`);
    return { kind: 'time', ms };
  }

  labelName(n: SyntaxNode): string {
    if (n.type.name === 'QuotedLabelName') return this.string(n.firstChild!);
    return this.text(n);
  }

  vectorSelector(n: SyntaxNode, kids: SyntaxNode[]): VectorSelector {
    let name: string | undefined;
    const matchers: Matcher[] = [];
    for (const k of kids) {
      if (k.type.name === 'Identifier') name = this.text(k);
      else if (k.type.name === 'LabelMatchers') {
        for (const m of this.children(k)) {
          if (m.type.name === 'QuotedLabelName') {
            const v = this.string(m.firstChild!);
            if (name !== undefined) this.fail(m, `metric name must not be set twice: ${goQuote(name)} or ${goQuote(v)}`);
            name = v;
            continue;
          }
          const parts = this.children(m);
          if (parts.length !== 3) this.fail(m, 'invalid label matcher');
          const label = this.labelName(parts[0]);
          const type = MATCH_OPS[parts[1].firstChild?.type.name ?? ''];
          if (!type) this.fail(parts[1], 'invalid label matcher operator');
          const value = this.string(parts[2]);
          if (type === '=~' || type === '!~') {
            try {
              compileMatcherRegex(value);
            } catch (err) {
              this.fail(parts[0], (err as Error).message);
            }
          }
          matchers.push({ type, name: label, value });
        }
      }
    }
    if (name !== undefined) {
      if (matchers.some((m) => m.name === '__name__')) {
        const other = matchers.find((m) => m.name === '__name__')!;
        this.fail(n, `metric name must not be set twice: ${goQuote(name)} or ${goQuote(other.value)}`);
      }
      matchers.unshift({ type: '=', name: '__name__', value: name });
    }
    if (!matchers.some((m) => !matchesEmpty(m))) {
      this.fail(n, 'vector selector must contain at least one non-empty matcher');
    }
    return { type: 'VectorSelector', name, matchers, offsetMs: 0, at: undefined, pos: { start: n.from, end: n.to } };
  }

  args(body: SyntaxNode): Expr[] {
    return this.children(body).map((c) => this.expr(c));
  }

  call(n: SyntaxNode, kids: SyntaxNode[]): Expr {
    const func = this.text(kids[0]);
    const sig = FUNCTIONS.get(func);
    if (!sig) this.fail(kids[0], `unknown function with name ${goQuote(func)}`);
    const args = this.args(kids[1]);
    const variadic = sig.variadic ?? 0;
    if (variadic === 0 && args.length !== sig.args.length) {
      this.fail(n, `expected ${sig.args.length} argument(s) in call to ${goQuote(func)}, got ${args.length}`);
    }
    const min = sig.args.length - (variadic === 0 ? 0 : 1);
    if (args.length < min) this.fail(n, `expected at least ${min} argument(s) in call to ${goQuote(func)}, got ${args.length}`);
    const max = variadic === 0 ? sig.args.length : variadic < 0 ? Infinity : min + variadic;
    if (args.length > max) this.fail(n, `expected at most ${max} argument(s) in call to ${goQuote(func)}, got ${args.length}`);
    args.forEach((a, i) => {
      const want = sig.args[Math.min(i, sig.args.length - 1)];
      const got = typeOf(a);
      if (got !== want) {
        this.fail(a.pos.start, `expected type ${TYPE_NAMES[want]} in call to function ${goQuote(func)}, got ${TYPE_NAMES[got]}`);
      }
    });
    return { type: 'Call', func, args, pos: { start: n.from, end: n.to } };
  }

  grouping(n: SyntaxNode): string[] {
    return this.children(n).map((c) => this.labelName(c));
  }

  aggregate(n: SyntaxNode, kids: SyntaxNode[]): Expr {
    const op = this.text(kids[0]).toLowerCase() as AggregateOp;
    if (!AGGREGATORS.has(op)) this.fail(kids[0], `unknown aggregation ${goQuote(op)}`);
    let grouping: string[] = [];
    let without = false;
    let body: SyntaxNode | undefined;
    for (const k of kids.slice(1)) {
      if (k.type.name === 'AggregateModifier') {
        const [kw, labels] = this.children(k);
        without = kw.type.name === 'Without';
        grouping = labels ? this.grouping(labels) : [];
      } else if (k.type.name === 'FunctionCallBody') body = k;
    }
    const args = body ? this.args(body) : [];
    const want = PARAM_AGGREGATORS.has(op) ? 2 : 1;
    if (args.length !== want) {
      this.fail(n, `wrong number of arguments for aggregate expression provided, expected ${want}, got ${args.length}`);
    }
    const expr = args[want - 1];
    const param = want === 2 ? args[0] : undefined;
    const t = typeOf(expr);
    if (t !== 'vector') this.fail(expr.pos.start, `expected type instant vector in aggregation expression, got ${TYPE_NAMES[t]}`);
    if (param) {
      const pt = typeOf(param);
      const wantP: ValueType = op === 'count_values' ? 'string' : 'scalar';
      if (pt !== wantP) this.fail(param.pos.start, `expected type ${TYPE_NAMES[wantP]} in aggregation parameter, got ${TYPE_NAMES[pt]}`);
    }
    return { type: 'AggregateExpr', op, expr, param, grouping, without, pos: { start: n.from, end: n.to } };
  }

  binary(n: SyntaxNode, kids: SyntaxNode[]): Expr {
    const lhsNode = kids[0];
    const opNode = kids[1];
    const rhsNode = kids[kids.length - 1];
    const op = OP_NODES[opNode.type.name];
    if (!op) this.fail(opNode, `unsupported binary operator ${goQuote(this.text(opNode))}`);
    let returnBool = false;
    let matchingNode: SyntaxNode | undefined;
    for (const k of kids.slice(2, -1)) {
      if (k.type.name === 'BoolModifier') returnBool = true;
      else if (k.type.name === 'MatchingModifierClause') matchingNode = k;
      else if (k.type.name === 'FillModifier') this.fail(k, 'fill modifiers are experimental and not supported');
    }
    // The grammar lexes a leading sign into the number (`-2` in `-2 ^ 2`), but in
    // PromQL unary minus binds looser than `^`: the sign applies to the power.
    let powSign: '-' | '+' | undefined;
    let lhs: Expr;
    const lhsText = lhsNode.type.name === 'NumberDurationLiteral' ? this.text(lhsNode).trim() : '';
    if (op === '^' && (lhsText[0] === '-' || lhsText[0] === '+')) {
      powSign = lhsText[0] as '-' | '+';
      const value = parseNumber(lhsText.slice(1).trim(), (m) => this.fail(lhsNode, m));
      lhs = { type: 'NumberLiteral', value, pos: { start: lhsNode.from + this.text(lhsNode).indexOf(powSign) + 1, end: lhsNode.to } };
    } else lhs = this.expr(lhsNode);
    const rhs = this.expr(rhsNode);
    const lt = typeOf(lhs);
    const rt = typeOf(rhs);
    for (const [t, e] of [[lt, lhs], [rt, rhs]] as const) {
      if (t !== 'scalar' && t !== 'vector') {
        this.fail(e.pos.start, `binary expression must contain only scalar and instant vector types`);
      }
    }
    if (returnBool && !isComparison(op)) this.fail(opNode, 'bool modifier can only be used on comparison operators');
    if (isComparison(op) && lt === 'scalar' && rt === 'scalar' && !returnBool) {
      this.fail(opNode, 'comparisons between scalars must use BOOL modifier');
    }
    let matching: VectorMatching | undefined;
    if (matchingNode && (lt !== 'vector' || rt !== 'vector')) {
      // As Prometheus's checkAST: next to a scalar only matching labels are an
      // error; an empty on()/ignoring() and group modifiers are dropped.
      const parts = this.children(matchingNode);
      if (parts[1] && this.grouping(parts[1]).length > 0) this.fail(n, 'vector matching only allowed between instant vectors');
    } else if (matchingNode) {
      const parts = this.children(matchingNode);
      const on = parts[0].type.name === 'On';
      const labels = this.grouping(parts[1]);
      let card: VectorMatching['card'] = 'one-to-one';
      let include: string[] = [];
      if (parts[2]) {
        card = parts[2].type.name === 'GroupLeft' ? 'many-to-one' : 'one-to-many';
        if (parts[3]) include = this.grouping(parts[3]);
        if (isSetOp(op)) this.fail(parts[2], `no grouping allowed for "${op}" operation`);
        if (on) {
          for (const l of include) {
            if (labels.includes(l)) this.fail(parts[2], `label ${goQuote(l)} must not occur in ON and GROUP clause at once`);
          }
        }
      }
      matching = { card: isSetOp(op) ? 'many-to-many' : card, on, labels, include };
    } else if (lt === 'vector' && rt === 'vector') {
      matching = { card: isSetOp(op) ? 'many-to-many' : 'one-to-one', on: false, labels: [], include: [] };
    }
    if (isSetOp(op) && (lt === 'scalar' || rt === 'scalar')) {
      this.fail(opNode, `set operator "${op}" not allowed in binary scalar expression`);
    }
    const bin: Expr = { type: 'BinaryExpr', op, lhs, rhs, returnBool, matching, pos: { start: n.from, end: n.to } };
    return powSign ? { type: 'UnaryExpr', op: powSign, expr: bin, pos: bin.pos } : bin;
  }
}

/** Offset, @, ranges and subqueries bind tighter than any operator: push them to the rightmost operand. */
function applyPostfix(e: Expr, fn: (e: Expr) => Expr): Expr {
  if (e.type === 'BinaryExpr') return { ...e, rhs: applyPostfix(e.rhs, fn), pos: e.pos };
  if (e.type === 'UnaryExpr') return { ...e, expr: applyPostfix(e.expr, fn) };
  return fn(e);
}

function matchesEmpty(m: Matcher): boolean {
  switch (m.type) {
    case '=':
      return m.value === '';
    case '!=':
      return m.value !== '';
    case '=~':
      return compileMatcherRegex(m.value).test('');
    case '!~':
      return !compileMatcherRegex(m.value).test('');
  }
}

const DURATION_OPS: Record<string, '+' | '-' | '*' | '/' | '%' | '^' | undefined> = {
  Add: '+',
  Sub: '-',
  Mul: '*',
  Div: '/',
  Mod: '%',
  Pow: '^',
};

const DURATION_RE = /^(\d+(ms|[smhdwy]))+$/;

export function parseNumber(s: string, fail: (m: string) => never): number {
  const lower = s.toLowerCase();
  if (lower === 'inf') return Infinity;
  if (lower === 'nan') return NaN;
  if (DURATION_RE.test(s)) return parseDurationLiteral(s, fail) / 1000;
  const clean = s.replace(/_/g, '');
  if (/^0x[0-9a-f]+$/i.test(clean)) return parseInt(clean.slice(2), 16);
  const v = Number(clean);
  if (clean === '' || Number.isNaN(v)) fail(`bad number or duration syntax: ${goQuote(s)}`);
  return v;
}

function parseDurationLiteral(s: string, fail: (m: string) => never, allowZero = true): number {
  if (DURATION_RE.test(s)) {
    try {
      return parseDuration(s);
    } catch (err) {
      fail((err as Error).message);
    }
  }
  const v = Number(s.replace(/_/g, ''));
  if (!Number.isFinite(v)) fail(`bad number or duration syntax: ${goQuote(s)}`);
  if (!allowZero && v === 0) fail('duration must be greater than 0');
  const ms = Math.round(v * 1000);
  if (!Number.isSafeInteger(ms)) fail(`duration out of range: ${goQuote(s)}`);
  return ms;
}

export function typeOf(e: Expr): ValueType {
  switch (e.type) {
    case 'NumberLiteral':
      return 'scalar';
    case 'StringLiteral':
      return 'string';
    case 'VectorSelector':
      return 'vector';
    case 'MatrixSelector':
    case 'SubqueryExpr':
      return 'matrix';
    case 'Call':
      return FUNCTIONS.get(e.func)!.returns;
    case 'AggregateExpr':
      return 'vector';
    case 'BinaryExpr':
      return typeOf(e.lhs) === 'scalar' && typeOf(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'UnaryExpr':
    case 'ParenExpr':
      return typeOf(e.expr);
  }
}

function lineCol(input: string, pos: number): string {
  let line = 1;
  let col = 1;
  for (let i = 0; i < pos && i < input.length; i++) {
    if (input[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return `${line}:${col}`;
}

function parseError(input: string, pos: number, msg: string): PromQLError {
  return new PromQLError('bad_data', `${lineCol(input, pos)}: parse error: ${msg}`, pos);
}

/** Explains the first syntax error lezer recovered from. */
function syntaxError(input: string, pos: number): PromQLError {
  // An unknown function name makes the call unparsable; name it, as Prometheus does.
  const call = /([A-Za-z_:][A-Za-z0-9_:]*)\s*\(/g;
  let m: RegExpExecArray | null;
  const noStrings = input.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, (s) => ' '.repeat(s.length));
  while ((m = call.exec(noStrings))) {
    const name = m[1];
    const before = noStrings.slice(0, m.index).trimEnd();
    if (before.endsWith('@')) continue;
    if (!FUNCTIONS.has(name) && !AGGREGATORS.has(name.toLowerCase()) && !KEYWORDS.has(name.toLowerCase())) {
      return parseError(input, m.index, `unknown function with name ${goQuote(name)}`);
    }
  }
  if (pos >= input.trimEnd().length) return parseError(input, pos, 'unexpected end of input');
  const tok = /^\s*(\S{1,20})/.exec(input.slice(pos))?.[1] ?? input[pos];
  return parseError(input, pos, `unexpected ${goQuote(tok)}`);
}

/**
 * The lezer tree. Building it recurses once per nesting level, so a deeply
 * nested input can exhaust the stack before the depth check below sees the
 * tree; how deep depends on the caller's own stack, so the overflow is turned
 * into the same clear error.
 */
function parseTree(input: string): Tree {
  try {
    return lezerParser().parse(lezerInput(input));
  } catch (e) {
    if (e instanceof RangeError) {
      throw new PromQLError('bad_data', `parse error: expression nesting too deep (limit ${MAX_TREE_DEPTH})`);
    }
    throw e;
  }
}

/**
 * Expressions already parsed, by their text, least recently used first. Rules
 * evaluate the same expressions at every interval (and `vigil test rules` at
 * every step), and parsing one costs more than evaluating most of them. The
 * trees are shared by every query, hence frozen: evaluation derives new
 * nodes, it never changes these. Only expressions of rule size are kept, so
 * that queries sent to the API cannot make the cache large.
 */
const parsed = new Map<string, Expr>();
const PARSED_CACHE_SIZE = 512;
const PARSED_CACHE_MAX_CHARS = 4096;

/** Parses and type-checks a PromQL expression; throws PromQLError('bad_data') naming the position. */
export function parseExpr(input: string): Expr {
  const hit = parsed.get(input);
  if (hit) {
    parsed.delete(input);
    parsed.set(input, hit);
    return hit;
  }
  const ast = parseUncached(input);
  if (input.length > PARSED_CACHE_MAX_CHARS) return ast;
  if (parsed.size >= PARSED_CACHE_SIZE) parsed.delete(parsed.keys().next().value!);
  parsed.set(input, freezePlain(ast));
  return ast;
}

/** Freezes plain objects and arrays throughout a tree; class instances (compiled regexes) keep their own state. */
function freezePlain<T>(v: T): T {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return v;
  const proto = Object.getPrototypeOf(v) as unknown;
  if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) return v;
  for (const x of Object.values(v)) freezePlain(x);
  return Object.freeze(v);
}

function parseUncached(input: string): Expr {
  if (typeof input !== 'string') throw new PromQLError('bad_data', 'expression must be a string');
  if (input.length > MAX_EXPR_LENGTH) {
    throw new PromQLError('bad_data', `expression too long: ${input.length} characters (limit ${MAX_EXPR_LENGTH})`);
  }
  if (input.trim() === '') throw new PromQLError('bad_data', '1:1: parse error: no expression found in input', 0);
  const tree = parseTree(input);
  let errorAt = -1;
  let depth = 0;
  let tooDeep = -1;
  tree.iterate({
    enter: (node) => {
      if (node.type.isError && errorAt < 0) errorAt = node.from;
      if (++depth > MAX_TREE_DEPTH && tooDeep < 0) tooDeep = node.from;
      return errorAt < 0 && tooDeep < 0;
    },
    leave: () => {
      depth--;
    },
  });
  if (tooDeep >= 0) {
    throw new PromQLError('bad_data', `${lineCol(input, tooDeep)}: parse error: expression nesting too deep (limit ${MAX_TREE_DEPTH})`, tooDeep);
  }
  if (errorAt >= 0) throw syntaxError(input, errorAt);
  const ast = new Converter(input).expr(tree.topNode);
  checkOperands(input, ast);
  return ast;
}

/**
 * Ranges, subqueries and modifiers are attached after the operator nodes are
 * built (see applyPostfix), so operand types are checked once more on the
 * final tree.
 */
function checkOperands(input: string, e: Expr): void {
  const stack: Expr[] = [e];
  while (stack.length) {
    const n = stack.pop()!;
    switch (n.type) {
      case 'UnaryExpr': {
        const t = typeOf(n.expr);
        if (t !== 'scalar' && t !== 'vector') {
          throw parseError(input, n.pos.start, `unary expression only allowed on expressions of type scalar or instant vector, got ${goQuote(TYPE_NAMES[t])}`);
        }
        stack.push(n.expr);
        break;
      }
      case 'BinaryExpr':
        for (const side of [n.lhs, n.rhs]) {
          const t = typeOf(side);
          if (t !== 'scalar' && t !== 'vector') {
            throw parseError(input, side.pos.start, 'binary expression must contain only scalar and instant vector types');
          }
        }
        stack.push(n.lhs, n.rhs);
        break;
      case 'ParenExpr':
      case 'SubqueryExpr':
        stack.push(n.expr);
        break;
      case 'Call':
        stack.push(...n.args);
        break;
      case 'AggregateExpr':
        stack.push(n.expr);
        if (n.param) stack.push(n.param);
        break;
      default:
        break;
    }
  }
}
