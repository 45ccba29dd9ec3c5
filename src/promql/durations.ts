import type { DurationExpr, Expr } from './ast.js';

/** Thrown for a duration expression that yields no usable duration; the caller adds the position. */
export class DurationError extends Error {}

/** Query facts a duration expression may read: `step()` and `range()`, in seconds. */
export interface DurationEnv {
  readonly stepSeconds: number;
  readonly rangeSeconds: number;
}

export function dependsOnQuery(d: DurationExpr): boolean {
  switch (d.kind) {
    case 'literal':
      return false;
    case 'step':
    case 'range':
      return true;
    case 'unary':
      return dependsOnQuery(d.expr);
    default:
      return dependsOnQuery(d.lhs) || dependsOnQuery(d.rhs);
  }
}

function evaluate(d: DurationExpr, env: DurationEnv): number {
  switch (d.kind) {
    case 'literal':
      return d.seconds;
    case 'step':
      return env.stepSeconds;
    case 'range':
      return env.rangeSeconds;
    case 'unary':
      return d.op === '-' ? -evaluate(d.expr, env) : evaluate(d.expr, env);
    case 'min_of':
    case 'max_of': {
      const a = evaluate(d.lhs, env);
      const b = evaluate(d.rhs, env);
      if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
      return d.kind === 'min_of' ? Math.min(a, b) : Math.max(a, b);
    }
    case 'binary': {
      const a = evaluate(d.lhs, env);
      const b = evaluate(d.rhs, env);
      switch (d.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        case '/':
          if (b === 0) throw new DurationError('division by zero');
          return a / b;
        case '%':
          if (b === 0) throw new DurationError('modulo by zero');
          return a % b;
        case '^':
          return a ** b;
      }
    }
  }
}

/** The expression's value in whole ms; offsets may be negative, ranges and steps may not. */
export function durationMs(d: DurationExpr, env: DurationEnv, allowNegative: boolean): number {
  const seconds = evaluate(d, env);
  if (!Number.isFinite(seconds)) throw new DurationError('duration is NaN or infinite');
  if (seconds <= 0 && !allowNegative) throw new DurationError('duration must be greater than 0');
  const ms = Math.trunc(seconds * 1000);
  if (!Number.isSafeInteger(ms)) throw new DurationError('duration is out of range');
  return ms;
}

/**
 * A copy of the tree with every query-dependent duration computed for this
 * query, as Prometheus does before evaluation. Trees without any come back as
 * they are (the parser marks those that have some).
 */
export function resolveDurations(e: Expr, env: DurationEnv): Expr {
  switch (e.type) {
    case 'VectorSelector':
      return e.offsetExpr ? { ...e, offsetMs: durationMs(e.offsetExpr, env, true) } : e;
    case 'MatrixSelector': {
      const vector = resolveDurations(e.vector, env) as typeof e.vector;
      const rangeMs = e.rangeExpr ? durationMs(e.rangeExpr, env, false) : e.rangeMs;
      return vector === e.vector && rangeMs === e.rangeMs ? e : { ...e, vector, rangeMs };
    }
    case 'SubqueryExpr': {
      const expr = resolveDurations(e.expr, env);
      if (expr === e.expr && !e.rangeExpr && !e.stepExpr && !e.offsetExpr) return e;
      return {
        ...e,
        expr,
        rangeMs: e.rangeExpr ? durationMs(e.rangeExpr, env, false) : e.rangeMs,
        stepMs: e.stepExpr ? durationMs(e.stepExpr, env, false) : e.stepMs,
        offsetMs: e.offsetExpr ? durationMs(e.offsetExpr, env, true) : e.offsetMs,
      };
    }
    case 'Call': {
      const args = e.args.map((a) => resolveDurations(a, env));
      return args.every((a, i) => a === e.args[i]) ? e : { ...e, args };
    }
    case 'AggregateExpr': {
      const expr = resolveDurations(e.expr, env);
      const param = e.param && resolveDurations(e.param, env);
      return expr === e.expr && param === e.param ? e : { ...e, expr, param };
    }
    case 'BinaryExpr': {
      const lhs = resolveDurations(e.lhs, env);
      const rhs = resolveDurations(e.rhs, env);
      return lhs === e.lhs && rhs === e.rhs ? e : { ...e, lhs, rhs };
    }
    case 'UnaryExpr':
    case 'ParenExpr': {
      const expr = resolveDurations(e.expr, env);
      return expr === e.expr ? e : { ...e, expr };
    }
    default:
      return e;
  }
}
