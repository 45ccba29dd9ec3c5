import type { Call, Expr } from '../ast.js';
import type { Sample, SeriesRef } from '../value.js';
import type { FnContext, FunctionDef, FunctionTable } from './types.js';

/** The labels `absent` gives its single series: the selector's equality matchers (each name once). */
function absentRef(c: FnContext, arg: Expr): SeriesRef {
  let sel: Expr = arg;
  while (sel.type === 'ParenExpr') sel = sel.expr;
  if (sel.type === 'MatrixSelector') sel = sel.vector;
  const labels: Record<string, string> = {};
  if (sel.type === 'VectorSelector') {
    const has = new Set<string>();
    for (const m of sel.matchers) {
      if (m.name === '__name__') continue;
      if (m.type === '=' && !has.has(m.name)) {
        labels[m.name] = m.value;
        has.add(m.name);
      } else delete labels[m.name];
    }
  }
  return c.refs.get(labels);
}

/** Range query results are ordered by labels, whatever a sort inside says. */
export function warnSortInRange(c: FnContext): void {
  if (c.end !== c.start) c.warn('sort is ineffective for range queries since results are always ordered by labels');
}

function byValue(desc: boolean) {
  return (c: FnContext, e: Call, t: number): Sample[] => {
    warnSortInRange(c);
    return c.vector(e.args[0], t).filter((s) => !s.h).sort((a, b) => {
      const an = Number.isNaN(a.v);
      const bn = Number.isNaN(b.v);
      if (an || bn) return an === bn ? 0 : an ? 1 : -1;
      return desc ? b.v - a.v : a.v - b.v;
    });
  };
}

function scalarFn(fn: (c: FnContext, e: Call, t: number) => number, args: FunctionDef['args'] = []): FunctionDef {
  return { args, returns: 'scalar', impl: { kind: 'scalar', fn } };
}

/** Go's math.Max / math.Min: NaN wins. */
function nanMax(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
}

function nanMin(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b);
}

export const MISC_FUNCTIONS: FunctionTable = {
  time: scalarFn((_c, _e, t) => t / 1000),
  pi: scalarFn(() => Math.PI),
  scalar: scalarFn(
    (c, e, t) => {
      // Histogram samples do not count: one float sample makes the scalar.
      const floats = c.vector(e.args[0], t).filter((s) => !s.h);
      return floats.length === 1 ? floats[0].v : NaN;
    },
    ['vector'],
  ),
  // The query's own bounds: constant over all steps (an instant query has start = end, step 0).
  start: scalarFn((c) => c.queryStart / 1000),
  end: scalarFn((c) => c.queryEnd / 1000),
  range: scalarFn((c) => (c.queryEnd - c.queryStart) / 1000),
  step: scalarFn((c) => (c.queryEnd === c.queryStart ? 0 : c.queryStep / 1000)),
  min_of: scalarFn((c, e, t) => nanMin(c.scalar(e.args[0], t), c.scalar(e.args[1], t)), ['scalar', 'scalar']),
  max_of: scalarFn((c, e, t) => nanMax(c.scalar(e.args[0], t), c.scalar(e.args[1], t)), ['scalar', 'scalar']),
  vector: { args: ['scalar'], returns: 'vector', impl: { kind: 'vector', fn: (c, e, t) => [{ ref: c.refs.get({}), v: c.scalar(e.args[0], t) }] } },
  timestamp: {
    args: ['vector'],
    returns: 'vector',
    impl: { kind: 'vector', fn: (c, e, t) => c.timestamps(e.args[0], t).map((s) => ({ ref: c.refs.dropped(s.ref), v: s.v })) },
  },
  absent: {
    args: ['vector'],
    returns: 'vector',
    impl: { kind: 'vector', fn: (c, e, t) => (c.vector(e.args[0], t).length > 0 ? [] : [{ ref: absentRef(c, e.args[0]), v: 1 }]) },
  },
  absent_over_time: {
    args: ['matrix'],
    returns: 'vector',
    impl: { kind: 'vector', fn: (c, e, t) => (c.anyWindow(e.args[0], t) ? [] : [{ ref: absentRef(c, e.args[0]), v: 1 }]) },
  },
  sort: { args: ['vector'], returns: 'vector', impl: { kind: 'vector', fn: byValue(false) } },
  sort_desc: { args: ['vector'], returns: 'vector', impl: { kind: 'vector', fn: byValue(true) } },
};
