import type { Matcher } from '../tsdb/types.js';

/** Static type of a PromQL expression, named as Prometheus names them in errors. */
export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

export const TYPE_NAMES: Record<ValueType, string> = {
  scalar: 'scalar',
  vector: 'instant vector',
  matrix: 'range vector',
  string: 'string',
};

/** `@` modifier: a fixed time in ms, or the query's start/end resolved at evaluation. */
export type AtModifier = { kind: 'time'; ms: number } | { kind: 'start' } | { kind: 'end' };

interface Node {
  /** Character offsets in the source expression. */
  readonly pos: { readonly start: number; readonly end: number };
}

export interface NumberLiteral extends Node {
  readonly type: 'NumberLiteral';
  readonly value: number;
}

export interface StringLiteral extends Node {
  readonly type: 'StringLiteral';
  readonly value: string;
}

export interface VectorSelector extends Node {
  readonly type: 'VectorSelector';
  readonly name: string | undefined;
  /** All matchers including the `__name__` one derived from `name`. */
  readonly matchers: Matcher[];
  offsetMs: number;
  /** An offset computed per query (`offset step()`); offsetMs holds the result once resolved. */
  offsetExpr?: DurationExpr;
  at: AtModifier | undefined;
}

/**
 * A duration expression that depends on the query (`[step()*2]`, `offset
 * min_of(range(), 1h)`), in seconds. Constant ones are folded by the parser.
 */
export type DurationExpr =
  | { readonly kind: 'literal'; readonly seconds: number }
  | { readonly kind: 'step' | 'range' }
  | { readonly kind: 'unary'; readonly op: '-' | '+'; readonly expr: DurationExpr }
  | { readonly kind: 'binary'; readonly op: '+' | '-' | '*' | '/' | '%' | '^'; readonly lhs: DurationExpr; readonly rhs: DurationExpr }
  | { readonly kind: 'min_of' | 'max_of'; readonly lhs: DurationExpr; readonly rhs: DurationExpr };

export interface MatrixSelector extends Node {
  readonly type: 'MatrixSelector';
  readonly vector: VectorSelector;
  readonly rangeMs: number;
  readonly rangeExpr?: DurationExpr;
}

export interface SubqueryExpr extends Node {
  readonly type: 'SubqueryExpr';
  readonly expr: Expr;
  readonly rangeMs: number;
  /** 0 means the default evaluation interval. */
  readonly stepMs: number;
  readonly rangeExpr?: DurationExpr;
  readonly stepExpr?: DurationExpr;
  offsetMs: number;
  offsetExpr?: DurationExpr;
  at: AtModifier | undefined;
}

export interface Call extends Node {
  readonly type: 'Call';
  readonly func: string;
  readonly args: Expr[];
}

export type AggregateOp =
  | 'sum' | 'avg' | 'min' | 'max' | 'count' | 'group' | 'stddev' | 'stdvar'
  | 'topk' | 'bottomk' | 'quantile' | 'count_values' | 'limitk' | 'limit_ratio';

export interface AggregateExpr extends Node {
  readonly type: 'AggregateExpr';
  readonly op: AggregateOp;
  readonly expr: Expr;
  readonly param: Expr | undefined;
  readonly grouping: string[];
  readonly without: boolean;
}

export type BinaryOp =
  | '+' | '-' | '*' | '/' | '%' | '^' | 'atan2'
  | '==' | '!=' | '>' | '<' | '>=' | '<='
  | 'and' | 'or' | 'unless';

export interface VectorMatching {
  readonly card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  /** True for `on(...)`, false for `ignoring(...)` or no clause. */
  readonly on: boolean;
  readonly labels: string[];
  /** Extra labels of group_left/group_right. */
  readonly include: string[];
}

export interface BinaryExpr extends Node {
  readonly type: 'BinaryExpr';
  readonly op: BinaryOp;
  readonly lhs: Expr;
  readonly rhs: Expr;
  readonly returnBool: boolean;
  /** Set when both sides are vectors. */
  readonly matching: VectorMatching | undefined;
}

export interface UnaryExpr extends Node {
  readonly type: 'UnaryExpr';
  readonly op: '-' | '+';
  readonly expr: Expr;
}

export interface ParenExpr extends Node {
  readonly type: 'ParenExpr';
  readonly expr: Expr;
}

export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | Call
  | AggregateExpr
  | BinaryExpr
  | UnaryExpr
  | ParenExpr;

export function isComparison(op: BinaryOp): boolean {
  return op === '==' || op === '!=' || op === '>' || op === '<' || op === '>=' || op === '<=';
}

export function isSetOp(op: BinaryOp): boolean {
  return op === 'and' || op === 'or' || op === 'unless';
}
