import type { Labels, Querier, SelectHints, Storage } from '../tsdb/types.js';
import {
  isComparison,
  isSetOp,
  type AggregateExpr,
  type AtModifier,
  type BinaryExpr,
  type BinaryOp,
  type Call,
  type Expr,
  type MatrixSelector,
  type SubqueryExpr,
  type VectorSelector,
} from './ast.js';
import { parseExpr, typeOf } from './parser.js';
import { DurationError, resolveDurations } from './durations.js';
import { FUNCTIONS, type FnContext, type RangeCtx } from './functions/index.js';
import { DUPLICATE } from './functions/labels.js';
import { quantileWarning } from './functions/range.js';
import type { RangeImpl } from './functions/types.js';
import {
  HistogramError,
  addHistograms,
  divideHistogram,
  histogramsEqual,
  scaleHistogram,
  subHistograms,
  type FloatHistogram,
} from '../model/histogram.js';
import { MeanAcc, goPow, kahanAdd, quantile, type Kahan } from './mathx.js';
import { histogramString } from './histogram-stats.js';
import { RefTable, withoutName, type Sample, type SeriesRef } from './value.js';
import { isValidUtf8 } from './strings.js';
import { formatFloat, goQuote } from '../model/strconv.js';
import {
  PromQLError,
  type InstantSample,
  type QueryEngine,
  type QueryOptions,
  type QueryResult,
  type QueryValue,
  type RangeSeries,
} from './types.js';

export interface EngineOptions {
  /** Default 5m. */
  lookbackDeltaMs?: number;
  /** Default 50 million, as Prometheus. */
  maxSamples?: number;
  /** Default 2 minutes, as Prometheus. */
  timeoutMs?: number;
  /** Step of subqueries written without one (`x[5m:]`). Default 1m, the usual evaluation interval. */
  subqueryStepMs?: number;
}

const DEFAULTS = { lookbackDeltaMs: 300_000, maxSamples: 50_000_000, timeoutMs: 120_000, subqueryStepMs: 60_000 };
/** Steps a range query may have, as Prometheus's API limit. */
export const MAX_STEPS = 11_000;
/**
 * Steps one subquery may evaluate. Prometheus has no such limit, but a
 * `x[10y:1s]` would otherwise keep the event loop busy for minutes.
 */
export const MAX_SUBQUERY_STEPS = 1_000_000;

/** One series of a whole-range evaluation; h only once a histogram point occurs. */
interface EvalSeries {
  ref: SeriesRef;
  t: number[];
  v: number[];
  h?: Array<FloatHistogram | undefined>;
}

interface SelSeries {
  ref: SeriesRef;
  t: Float64Array;
  v: Float64Array;
  stale: Uint8Array | undefined;
  /** Native histogram samples, where the series has any. */
  h?: ReadonlyArray<FloatHistogram | undefined>;
  /** resets[i]: counter resets among samples 0..i, so a window without one skips the scan. */
  resets?: Int32Array;
}

function resetPrefix(v: Float64Array): Int32Array {
  const out = new Int32Array(v.length);
  let n = 0;
  for (let i = 1; i < v.length; i++) {
    if (v[i] < v[i - 1]) n++;
    out[i] = n;
  }
  return out;
}

/** State shared by all evaluators of one query. */
class QueryCtx {
  readonly refs = new RefTable();
  readonly warnings = new Set<string>();
  readonly infos = new Set<string>();
  samples = 0;
  stamp = 0;
  private checks = 0;

  constructor(
    readonly querier: Querier,
    readonly lookback: number,
    readonly maxSamples: number,
    readonly deadline: number,
    readonly signal: AbortSignal | undefined,
    readonly queryStart: number,
    readonly queryEnd: number,
    /** Step of the range query (ms); 0 for an instant query. */
    readonly queryStep: number,
    readonly subqueryStep: number,
  ) {}

  addSamples(n: number): void {
    this.samples += n;
    if (this.samples > this.maxSamples) {
      throw new PromQLError('too_many_samples', 'query processing would load too many samples into memory in query execution');
    }
  }

  /** Cheap enough to call in inner loops: looks at the clock every 256 calls. */
  tick(): void {
    if ((++this.checks & 255) !== 0) return;
    this.checkNow();
  }

  checkNow(): void {
    if (this.signal?.aborted) throw new PromQLError('canceled', 'query was canceled');
    if (Date.now() > this.deadline) throw new PromQLError('timeout', 'query timed out in query execution');
  }

  warn(msg: string): void {
    this.warnings.add(`PromQL warning: ${msg}`);
  }

  info(msg: string): void {
    this.infos.add(`PromQL info: ${msg}`);
  }
}

function execError(msg: string): PromQLError {
  return new PromQLError('execution', msg);
}

/** Largest index i with t[i] <= x, or -1. */
function lastLE(t: Float64Array, x: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Smallest index i with t[i] > x (t.length if none). */
function firstGT(t: Float64Array, x: number, from = 0): number {
  let lo = from;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function unwrapParens(e: Expr): Expr {
  while (e.type === 'ParenExpr') e = e.expr;
  return e;
}

function signatureOf(labels: Labels, on: boolean, names: readonly string[]): string {
  let key = '';
  if (on) {
    for (const n of [...names].sort()) key += `${n}\xff${labels[n] ?? ''}\xfe`;
    return key;
  }
  for (const n of Object.keys(labels).sort()) {
    if (n === '__name__' || names.includes(n)) continue;
    key += `${n}\xff${labels[n]}\xfe`;
  }
  return key;
}

function formatLabels(l: Labels): string {
  const names = Object.keys(l).sort();
  return '{' + names.map((n) => `${n}=${goQuote(l[n])}`).join(', ') + '}';
}

function arith(op: BinaryOp, l: number, r: number): number {
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return l / r;
    case '%':
      return l % r;
    case '^':
      return goPow(l, r);
    case 'atan2':
      return Math.atan2(l, r);
    default:
      throw execError(`operator ${goQuote(op)} not allowed for arithmetic`);
  }
}

function compare(op: BinaryOp, l: number, r: number): boolean {
  switch (op) {
    case '==':
      return l === r;
    case '!=':
      return l !== r;
    case '>':
      return l > r;
    case '<':
      return l < r;
    case '>=':
      return l >= r;
    case '<=':
      return l <= r;
    default:
      throw execError(`operator ${goQuote(op)} is not a comparison`);
  }
}

/** Evaluates expressions at the steps start, start+interval, ..., end. */
class Evaluator implements FnContext {
  private readonly cache = new Map<object, unknown>();
  private readonly cursors = new Map<object, { te: number; lo: Int32Array; hi: Int32Array }>();

  constructor(
    private readonly q: QueryCtx,
    readonly start: number,
    readonly end: number,
    readonly interval: number,
  ) {}

  get refs(): RefTable {
    return this.q.refs;
  }

  get queryStart(): number {
    return this.q.queryStart;
  }

  get queryEnd(): number {
    return this.q.queryEnd;
  }

  get queryStep(): number {
    return this.q.queryStep;
  }

  warn(msg: string): void {
    this.q.warn(msg);
  }

  info(msg: string): void {
    this.q.info(msg);
  }

  error(msg: string): Error {
    return execError(msg);
  }

  nextStamp(): number {
    return ++this.q.stamp;
  }

  timestamps(e: Expr, t: number): Sample[] {
    const arg = unwrapParens(e);
    if (arg.type === 'VectorSelector') return this.instantSelector(arg, t, true);
    return this.vector(arg, t).map((s) => ({ ref: s.ref, v: t / 1000 }));
  }

  anyWindow(e: Expr, t: number): boolean {
    let any = false;
    this.forEachWindow(e, t, () => {
      any = true;
    });
    return any;
  }

  state<T>(e: object, init: () => T): T {
    let s = this.cache.get(e) as T | undefined;
    if (s === undefined) {
      s = init();
      this.cache.set(e, s);
    }
    return s;
  }

  private atTime(at: AtModifier | undefined): number | undefined {
    if (!at) return undefined;
    if (at.kind === 'time') return at.ms;
    return at.kind === 'start' ? this.q.queryStart : this.q.queryEnd;
  }

  /** Loads the series of a selector once for every step this evaluator will run. */
  private selectorData(vs: VectorSelector, back: number, dropStale: boolean): SelSeries[] {
    // Range and instant reads of one selector differ in stale handling: keep both apart.
    return this.state(dropStale ? vs.pos : vs, () => {
      const at = this.atTime(vs.at);
      const maxt = (at ?? this.end) - vs.offsetMs;
      const mint = (at ?? this.start) - vs.offsetMs - back + 1;
      this.q.checkNow();
      const raw = this.q.querier.select(vs.matchers, mint, maxt, at === undefined ? this.windows(mint, back) : undefined);
      const out: SelSeries[] = [];
      let n = 0;
      for (const s of raw) {
        let { t, v, h } = s;
        let stale = s.stale;
        if (dropStale && stale) {
          const keep: number[] = [];
          for (let i = 0; i < t.length; i++) if (!stale[i]) keep.push(i);
          t = Float64Array.from(keep, (i) => s.t[i]);
          v = Float64Array.from(keep, (i) => s.v[i]);
          if (h) h = keep.map((i) => s.h![i]);
          stale = undefined;
        }
        n += t.length;
        out.push({ ref: this.q.refs.get(s.labels), t, v, stale, h });
      }
      this.q.addSamples(n);
      return out;
    });
  }

  /**
   * The windows every step reads, when they leave gaps (steps wider than the
   * range): the store then decodes and returns only samples inside them.
   * Integer times only, so the store's window arithmetic matches the steps'.
   */
  private windows(mint: number, back: number): SelectHints | undefined {
    const step = this.interval;
    if (this.end === this.start || step <= back || !Number.isInteger(mint) || !Number.isInteger(step) || !Number.isInteger(back)) return undefined;
    return { step, range: back };
  }

  // ---- typed evaluation at one step ----

  scalar(e: Expr, t: number): number {
    switch (e.type) {
      case 'NumberLiteral':
        return e.value;
      case 'ParenExpr':
        return this.scalar(e.expr, t);
      case 'UnaryExpr':
        return e.op === '-' ? -this.scalar(e.expr, t) : this.scalar(e.expr, t);
      case 'BinaryExpr': {
        const l = this.scalar(e.lhs, t);
        const r = this.scalar(e.rhs, t);
        if (isComparison(e.op)) return compare(e.op, l, r) ? 1 : 0;
        return arith(e.op, l, r);
      }
      case 'Call': {
        const impl = FUNCTIONS.get(e.func)?.impl;
        if (impl?.kind === 'scalar') return impl.fn(this, e, t);
        break;
      }
      default:
        break;
    }
    throw execError(`unexpected scalar expression ${e.type}`);
  }

  string(e: Expr): string {
    if (e.type === 'StringLiteral') return e.value;
    if (e.type === 'ParenExpr') return this.string(e.expr);
    throw execError(`unexpected string expression ${e.type}`);
  }

  vector(e: Expr, t: number): Sample[] {
    this.q.tick();
    switch (e.type) {
      case 'VectorSelector':
        return this.instantSelector(e, t, false);
      case 'ParenExpr':
        return this.vector(e.expr, t);
      case 'UnaryExpr': {
        const v = this.vector(e.expr, t);
        if (e.op === '+') return v;
        return v.map((s) => (s.h ? { ref: this.q.refs.dropped(s.ref), v: 0, h: scaleHistogram(s.h, -1) } : { ref: this.q.refs.dropped(s.ref), v: -s.v }));
      }
      case 'BinaryExpr':
        return this.binary(e, t);
      case 'AggregateExpr':
        return this.aggregate(e, t);
      case 'Call':
        return this.call(e, t);
      default:
        throw execError(`unexpected vector expression ${e.type}`);
    }
  }

  private instantSelector(vs: VectorSelector, t: number, timestamps: boolean): Sample[] {
    const data = this.selectorData(vs, this.q.lookback, false);
    const te = (this.atTime(vs.at) ?? t) - vs.offsetMs;
    const from = te - this.q.lookback;
    const out: Sample[] = [];
    for (const s of data) {
      const i = lastLE(s.t, te);
      if (i < 0 || s.t[i] <= from) continue;
      if (s.stale && s.stale[i]) continue;
      const h = timestamps ? undefined : s.h?.[i];
      // Float samples keep the two-field shape the hot paths are compiled for.
      if (h) out.push({ ref: s.ref, v: 0, h });
      else out.push({ ref: s.ref, v: timestamps ? s.t[i] / 1000 : s.v[i] });
    }
    return out;
  }

  // ---- range vectors ----

  /** Series of a range-vector expression with all samples this evaluator needs. */
  private rangeData(e: MatrixSelector | SubqueryExpr): { series: SelSeries[]; te: (t: number) => number; range: number } {
    if (e.type === 'MatrixSelector') {
      const vs = e.vector;
      const at = this.atTime(vs.at);
      return {
        series: this.selectorData(vs, e.rangeMs, true),
        te: (t) => (at ?? t) - vs.offsetMs,
        range: e.rangeMs,
      };
    }
    const at = this.atTime(e.at);
    const series = this.state(e, () => this.subquery(e, at));
    return { series, te: (t) => (at ?? t) - e.offsetMs, range: e.rangeMs };
  }

  private subquery(e: SubqueryExpr, at: number | undefined): SelSeries[] {
    return subquerySeries(this.subqueryEvaluator(e, at).rangeEval(e.expr));
  }

  /**
   * Computes the subqueries of `e` before its steps are evaluated, each in
   * slices of about `sliceMs` with `pause()` between them; without this, a
   * subquery is computed whole at the first step that needs it.
   */
  async prepare(e: Expr, sliceMs: number, pause: () => Promise<void>): Promise<void> {
    for (const sq of subqueriesOf(e)) {
      if (this.cache.has(sq)) continue;
      const inner = this.subqueryEvaluator(sq, this.atTime(sq.at));
      await inner.prepare(sq.expr, sliceMs, pause);
      const acc = new Map<SeriesRef, EvalSeries>();
      for (let next: number | undefined = inner.start; next !== undefined; ) {
        next = inner.rangeSteps(sq.expr, next, performance.now() + sliceMs, acc);
        if (next !== undefined) await pause();
      }
      this.cache.set(sq, subquerySeries([...acc.values()]));
    }
  }

  private subqueryEvaluator(e: SubqueryExpr, at: number | undefined): Evaluator {
    const step = e.stepMs || this.q.subqueryStep;
    const from = (at ?? this.start) - e.offsetMs - e.rangeMs;
    const start = Math.ceil(from / step) * step;
    const end = (at ?? this.end) - e.offsetMs;
    if ((end - start) / step > MAX_SUBQUERY_STEPS) {
      throw execError(
        `subquery would evaluate ${Math.floor((end - start) / step) + 1} steps (limit ${MAX_SUBQUERY_STEPS}); use a larger subquery step or a shorter range`,
      );
    }
    return new Evaluator(this.q, start, end, step);
  }

  /** Calls fn for each series' window (te - range, te] that holds samples. */
  private forEachWindow(
    e: Expr,
    t: number,
    fn: (ref: SeriesRef, tt: Float64Array, vv: Float64Array, lo: number, hi: number, te: number, range: number, s: SelSeries) => void,
  ): void {
    const m = unwrapParens(e);
    if (m.type !== 'MatrixSelector' && m.type !== 'SubqueryExpr') throw execError(`expected range vector, got ${m.type}`);
    const { series, te: teOf, range } = this.rangeData(m);
    const te = teOf(t);
    // Steps of a range evaluation move forward: each series keeps a cursor
    // and walks on from the previous window instead of searching again.
    let cur = this.cursors.get(m);
    if (cur === undefined || cur.lo.length !== series.length) {
      cur = { te: Infinity, lo: new Int32Array(series.length), hi: new Int32Array(series.length) };
      this.cursors.set(m, cur);
    }
    const forward = te >= cur.te;
    cur.te = te;
    const start = te - range;
    const los = cur.lo;
    const his = cur.hi;
    for (let k = 0; k < series.length; k++) {
      const s = series[k];
      const tt = s.t;
      let lo: number;
      let hi: number;
      if (forward) {
        lo = los[k];
        hi = his[k];
        const n = tt.length;
        // Walk a few samples; a longer jump (steps much wider than the scrape interval) searches.
        for (let steps = 0; hi < n && tt[hi] <= te; hi++) {
          if (++steps > 8) {
            hi = firstGT(tt, te, hi);
            break;
          }
        }
        for (let steps = 0; lo < hi && tt[lo] <= start; lo++) {
          if (++steps > 8) {
            lo = firstGT(tt, start, lo);
            break;
          }
        }
        if (lo > hi) lo = hi;
      } else {
        hi = firstGT(tt, te);
        lo = firstGT(tt, start, 0);
      }
      los[k] = lo;
      his[k] = hi;
      if (lo >= hi) continue;
      fn(s.ref, tt, s.v, lo, hi, te, range, s);
    }
  }

  /** A range vector at one step, as an instant query returns it. */
  matrixAt(e: Expr, t: number): RangeSeries[] {
    const out: RangeSeries[] = [];
    this.forEachWindow(e, t, (ref, tt, vv, lo, hi, _te, _range, s) => {
      this.q.addSamples(hi - lo);
      const h = s.h?.slice(lo, hi);
      out.push({ labels: ref.labels, t: Array.from(tt.subarray(lo, hi)), v: Array.from(vv.subarray(lo, hi)), ...(h && h.some(Boolean) ? { h } : {}) });
    });
    return out;
  }

  // ---- whole-range evaluation ----

  /** Evaluates an instant-vector or scalar expression at every step. */
  rangeEval(e: Expr): EvalSeries[] {
    const acc = new Map<SeriesRef, EvalSeries>();
    this.rangeSteps(e, this.start, Infinity, acc);
    return [...acc.values()];
  }

  /**
   * Evaluates the steps from `from` on into `acc`, at least one, until the last
   * or until `performance.now()` passes `until`. Returns the next step to
   * evaluate, undefined when done. Later calls reuse what this evaluator
   * loaded and computed (selected series, subqueries, window cursors), so a
   * range evaluated in slices costs what it costs in one piece.
   */
  rangeSteps(e: Expr, from: number, until: number, acc: Map<SeriesRef, EvalSeries>): number | undefined {
    const isScalar = typeOf(e) === 'scalar';
    const scalarRef = this.q.refs.get({});
    for (let t = from; t <= this.end; t += this.interval) {
      this.q.checkNow();
      if (isScalar) {
        let s = acc.get(scalarRef);
        if (!s) acc.set(scalarRef, (s = { ref: scalarRef, t: [], v: [] }));
        s.t.push(t);
        s.v.push(this.scalar(e, t));
        this.q.addSamples(1);
      } else {
        const vec = this.vector(e, t);
        const stamp = ++this.q.stamp;
        for (const smp of vec) {
          if (smp.ref.stamp === stamp) throw execError(DUPLICATE);
          smp.ref.stamp = stamp;
          let s = acc.get(smp.ref);
          if (!s) acc.set(smp.ref, (s = { ref: smp.ref, t: [], v: [] }));
          if (smp.h && !s.h) s.h = new Array<FloatHistogram | undefined>(s.t.length).fill(undefined);
          s.t.push(t);
          s.v.push(smp.v);
          s.h?.push(smp.h);
        }
        this.q.addSamples(vec.length);
      }
      if (until !== Infinity && t + this.interval <= this.end && performance.now() > until) return t + this.interval;
    }
    return undefined;
  }

  // ---- binary operators ----

  private binary(e: BinaryExpr, t: number): Sample[] {
    const lt = typeOf(e.lhs);
    const rt = typeOf(e.rhs);
    const refs = this.q.refs;
    const cmp = isComparison(e.op);
    const dropName = !cmp || e.returnBool;
    if (lt === 'scalar' || rt === 'scalar') {
      const scalarLeft = lt === 'scalar';
      const sv = this.scalar(scalarLeft ? e.lhs : e.rhs, t);
      const vec = this.vector(scalarLeft ? e.rhs : e.lhs, t);
      const out: Sample[] = [];
      for (const s of vec) {
        if (s.h) {
          const res = this.histogramBinop(e, scalarLeft ? undefined : s.h, scalarLeft ? s.h : undefined, sv);
          if (res) out.push({ ref: refs.dropped(s.ref), ...res });
          continue;
        }
        const l = scalarLeft ? sv : s.v;
        const r = scalarLeft ? s.v : sv;
        if (cmp) {
          const ok = compare(e.op, l, r);
          if (e.returnBool) out.push({ ref: refs.dropped(s.ref), v: ok ? 1 : 0 });
          else if (ok) out.push(s);
        } else out.push({ ref: refs.dropped(s.ref), v: arith(e.op, l, r) });
      }
      return out;
    }
    const matching = e.matching!;
    const lhs = this.vector(e.lhs, t);
    const rhs = this.vector(e.rhs, t);
    const sigCache = this.state(e, () => new Map<SeriesRef, string>());
    const sig = (ref: SeriesRef): string => {
      let s = sigCache.get(ref);
      if (s === undefined) {
        s = signatureOf(ref.labels, matching.on, matching.labels);
        sigCache.set(ref, s);
      }
      return s;
    };
    if (isSetOp(e.op)) {
      if (e.op === 'or') {
        const seen = new Set<string>();
        for (const s of lhs) seen.add(sig(s.ref));
        const out = lhs.slice();
        for (const s of rhs) if (!seen.has(sig(s.ref))) out.push(s);
        return out;
      }
      const right = new Set<string>();
      for (const s of rhs) right.add(sig(s.ref));
      return e.op === 'and' ? lhs.filter((s) => right.has(sig(s.ref))) : lhs.filter((s) => !right.has(sig(s.ref)));
    }
    const oneToMany = matching.card === 'one-to-many';
    const many = oneToMany ? rhs : lhs;
    const one = oneToMany ? lhs : rhs;
    const oneBySig = new Map<string, Sample>();
    for (const s of one) {
      const k = sig(s.ref);
      const prev = oneBySig.get(k);
      if (prev) {
        const side = oneToMany ? 'left' : 'right';
        throw execError(
          `found duplicate series for the match group ${formatLabels(matchGroupLabels(s.ref.labels, matching.on, matching.labels))} on the ${side} hand-side of the operation: [${formatLabels(prev.ref.labels)}, ${formatLabels(s.ref.labels)}];many-to-many matching not allowed: matching labels must be unique on one side`,
        );
      }
      oneBySig.set(k, s);
    }
    const resultCache = this.state(matching, () => new Map<SeriesRef, Map<SeriesRef, SeriesRef> | SeriesRef>());
    const matched = matching.card === 'one-to-one' ? new Set<string>() : undefined;
    const stamp = ++this.q.stamp;
    const out: Sample[] = [];
    for (const s of many) {
      const k = sig(s.ref);
      const o = oneBySig.get(k);
      if (!o) continue;
      if (matched) {
        if (matched.has(k)) {
          throw execError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
        }
        matched.add(k);
      }
      const left = oneToMany ? o : s;
      const right = oneToMany ? s : o;
      let value: number;
      let h: FloatHistogram | undefined;
      if (left.h || right.h) {
        const res = this.histogramBinop(e, left.h, right.h, left.h ? right.v : left.v);
        if (!res) continue;
        value = res.v;
        h = res.h;
      } else if (cmp) {
        const ok = compare(e.op, left.v, right.v);
        if (!e.returnBool && !ok) continue;
        value = e.returnBool ? (ok ? 1 : 0) : left.v;
      } else value = arith(e.op, left.v, right.v);
      const ref = this.resultRef(resultCache, s.ref, o.ref, matching, dropName);
      if (!matched) {
        if (ref.stamp === stamp) throw execError('multiple matches for labels: grouping labels must ensure unique matches');
        ref.stamp = stamp;
      }
      out.push(h ? { ref, v: 0, h } : { ref, v: value });
    }
    return out;
  }

  /**
   * An operator with a native histogram on one or both sides (`f` is the float
   * side, if any): histograms add and subtract, scale by floats, and compare
   * for (in)equality; anything else yields nothing and an info.
   */
  private histogramBinop(e: BinaryExpr, hl: FloatHistogram | undefined, hr: FloatHistogram | undefined, f: number): { v: number; h?: FloatHistogram } | undefined {
    const op = e.op;
    try {
      if (hl && hr) {
        if (op === '+') return { v: 0, h: addHistograms(hl, hr) };
        if (op === '-') return { v: 0, h: subHistograms(hl, hr) };
        if (op === '==' || op === '!=') {
          const ok = histogramsEqual(hl, hr) === (op === '==');
          if (e.returnBool) return { v: ok ? 1 : 0 };
          return ok ? { v: 0, h: hl } : undefined;
        }
      } else if (hl) {
        if (op === '*') return { v: 0, h: scaleHistogram(hl, f) };
        if (op === '/') return { v: 0, h: divideHistogram(hl, f) };
      } else if (hr && op === '*') return { v: 0, h: scaleHistogram(hr, f) };
    } catch (err) {
      if (err instanceof HistogramError) {
        this.q.warn(`${err.message} for binary operator ${goQuote(op)}`);
        return undefined;
      }
      throw err;
    }
    const type = (h: FloatHistogram | undefined) => (h ? 'histogram' : 'float');
    this.q.info(`incompatible sample types encountered for binary operator ${goQuote(op)}: ${type(hl)} ${op} ${type(hr)}`);
    return undefined;
  }

  private resultRef(
    cache: Map<SeriesRef, Map<SeriesRef, SeriesRef> | SeriesRef>,
    manyRef: SeriesRef,
    oneRef: SeriesRef,
    m: NonNullable<BinaryExpr['matching']>,
    dropName: boolean,
  ): SeriesRef {
    const dependsOnOne = m.include.length > 0;
    const hit = cache.get(manyRef);
    if (hit) {
      if (!dependsOnOne) return hit as SeriesRef;
      const r = (hit as Map<SeriesRef, SeriesRef>).get(oneRef);
      if (r) return r;
    }
    const labels: Record<string, string> = {};
    const src = manyRef.labels;
    if (m.card === 'one-to-one') {
      if (m.on) {
        for (const n of m.labels) if (src[n] !== undefined && src[n] !== '') labels[n] = src[n];
      } else {
        for (const n in src) if (!m.labels.includes(n)) labels[n] = src[n];
      }
    } else Object.assign(labels, src);
    for (const n of m.include) {
      const v = oneRef.labels[n];
      if (v !== undefined && v !== '') labels[n] = v;
      else delete labels[n];
    }
    const ref = this.q.refs.get(labels, dropName || manyRef.dropName);
    if (dependsOnOne) {
      let inner = hit as Map<SeriesRef, SeriesRef> | undefined;
      if (!inner) cache.set(manyRef, (inner = new Map()));
      inner.set(oneRef, ref);
    } else cache.set(manyRef, ref);
    return ref;
  }

  // ---- aggregation ----

  private aggregate(e: AggregateExpr, t: number): Sample[] {
    const refs = this.q.refs;
    const groupOf = this.state(e, () => new Map<SeriesRef, SeriesRef>());
    // A group kept `__name__` (by (__name__)) loses it if any member is marked for
    // dropping, as in Prometheus: one group per label set, not per flag.
    const dropNameOf = new Set<SeriesRef>();
    const group = (ref: SeriesRef): SeriesRef => {
      let g = groupOf.get(ref);
      if (!g) {
        g = refs.get(groupLabels(ref.labels, e.without, e.grouping));
        groupOf.set(ref, g);
      }
      if (ref.dropName && g.labels.__name__ !== undefined) dropNameOf.add(g);
      return g;
    };
    const finish = (out: Sample[]): Sample[] => {
      if (dropNameOf.size === 0) return out;
      return out.map((s) => (dropNameOf.has(s.ref) ? { ...s, ref: refs.dropped(s.ref) } : s));
    };
    let param = NaN;
    if (e.param && e.op !== 'count_values') param = this.scalar(e.param, t);
    let input = this.vector(e.expr, t);
    if (IGNORES_HISTOGRAMS.has(e.op) && input.some((s) => s.h)) {
      this.q.info(`ignored histogram in ${e.op} aggregation`);
      input = input.filter((s) => !s.h);
    }

    switch (e.op) {
      case 'topk':
      case 'bottomk':
      case 'limitk': {
        if (param < 1) return [];
        if (Number.isNaN(param)) throw execError('Parameter value is NaN');
        if (param >= 2 ** 63) throw execError(`Scalar value ${formatFloat(param)} overflows int64`);
        const k = Math.trunc(param);
        const groups = new Map<SeriesRef, Sample[]>();
        for (const s of input) {
          const g = group(s.ref);
          let list = groups.get(g);
          if (!list) groups.set(g, (list = []));
          list.push(s);
        }
        const out: Sample[] = [];
        for (const list of groups.values()) {
          if (e.op === 'limitk') {
            out.push(...list.slice(0, k));
            continue;
          }
          const top = e.op === 'topk';
          list.sort((a, b) => {
            const an = Number.isNaN(a.v);
            const bn = Number.isNaN(b.v);
            if (an || bn) return an === bn ? 0 : an ? 1 : -1;
            return top ? b.v - a.v : a.v - b.v;
          });
          out.push(...list.slice(0, k));
        }
        return out;
      }
      case 'limit_ratio': {
        if (param === 0) return [];
        if (Number.isNaN(param)) throw execError('Ratio value is NaN');
        if (param > 1 || param < -1) this.q.warn(`ratio value should be between -1 and 1, got ${formatFloat(param, 'g')}, capping to ${param > 1 ? 1 : -1}`);
        const r = Math.max(-1, Math.min(1, param));
        return input.filter((s) => {
          const offset = ratioOffset(s.ref);
          return r >= 0 ? offset < r : offset >= 1 + r;
        });
      }
      case 'count_values': {
        const label = this.string(e.param!);
        if (!isValidUtf8(label) || label === '') throw execError(`invalid label name ${goQuote(label)}`);
        const counts = new Map<SeriesRef, number>();
        const cvCache = this.state(e.param!, () => new Map<string, SeriesRef>());
        for (const s of input) {
          const g = group(s.ref);
          const val = s.h ? histogramString(s.h) : formatFloat(s.v);
          const ck = g.key + '\x00' + val;
          let ref = cvCache.get(ck);
          if (!ref) {
            ref = refs.get({ ...g.labels, [label]: val });
            cvCache.set(ck, ref);
          }
          counts.set(ref, (counts.get(ref) ?? 0) + 1);
        }
        return [...counts].map(([ref, v]) => ({ ref, v }));
      }
      case 'quantile': {
        quantileWarning(this, param);
        const groups = new Map<SeriesRef, number[]>();
        for (const s of input) {
          const g = group(s.ref);
          let list = groups.get(g);
          if (!list) groups.set(g, (list = []));
          list.push(s.v);
        }
        return finish([...groups].map(([ref, vals]) => ({ ref, v: quantile(param, vals) })));
      }
      default:
        if ((e.op === 'sum' || e.op === 'avg') && input.some((s) => s.h)) return finish(this.histogramAggregate(e.op, input, group));
        return finish(this.simpleAggregate(e.op, input, group));
    }
  }

  /** sum and avg where histograms occur: a group of histograms adds up, a group mixing them with floats yields nothing. */
  private histogramAggregate(op: 'sum' | 'avg', input: Sample[], group: (r: SeriesRef) => SeriesRef): Sample[] {
    const groups = new Map<SeriesRef, Sample[]>();
    for (const s of input) {
      const g = group(s.ref);
      let list = groups.get(g);
      if (!list) groups.set(g, (list = []));
      list.push(s);
    }
    const out: Sample[] = [];
    for (const [ref, list] of groups) {
      const hs = list.filter((s) => s.h).map((s) => s.h!);
      if (hs.length === 0) {
        out.push(...this.simpleAggregate(op, list, group));
        continue;
      }
      if (hs.length < list.length) {
        this.q.warn(`encountered a mix of histograms and floats for ${op} aggregation`);
        continue;
      }
      try {
        let h = hs[0];
        for (let i = 1; i < hs.length; i++) h = addHistograms(h, hs[i]);
        out.push({ ref, v: 0, h: op === 'avg' ? divideHistogram(h, hs.length) : h });
      } catch (err) {
        if (!(err instanceof HistogramError)) throw err;
        this.q.warn(`${err.message} in ${op} aggregation`);
      }
    }
    return out;
  }

  private simpleAggregate(op: AggregateExpr['op'], input: Sample[], group: (r: SeriesRef) => SeriesRef): Sample[] {
    interface Acc {
      ref: SeriesRef;
      n: number;
      k: Kahan;
      mean: MeanAcc | undefined;
      m: number;
      v: number;
    }
    const groups = new Map<SeriesRef, Acc>();
    for (const s of input) {
      const g = group(s.ref);
      let a = groups.get(g);
      const f = s.v;
      if (!a) {
        a = { ref: g, n: 1, k: { sum: f, c: 0 }, mean: undefined, m: f, v: f };
        if (op === 'avg') (a.mean = new MeanAcc()).add(f);
        if (op === 'stddev' || op === 'stdvar') a.v = Number.isFinite(f) ? 0 : NaN;
        groups.set(g, a);
        continue;
      }
      a.n++;
      switch (op) {
        case 'sum':
          kahanAdd(a.k, f);
          break;
        case 'avg':
          a.mean!.add(f);
          break;
        case 'max':
          if (a.v < f || Number.isNaN(a.v)) a.v = f;
          break;
        case 'min':
          if (a.v > f || Number.isNaN(a.v)) a.v = f;
          break;
        case 'stddev':
        case 'stdvar': {
          const delta = f - a.m;
          a.m += delta / a.n;
          a.v += delta * (f - a.m);
          break;
        }
        default:
          break;
      }
    }
    const out: Sample[] = [];
    for (const a of groups.values()) {
      let v: number;
      switch (op) {
        case 'sum':
          v = a.k.sum + a.k.c;
          if (!Number.isFinite(a.k.sum)) v = a.k.sum;
          break;
        case 'avg':
          v = a.mean!.value();
          break;
        case 'count':
          v = a.n;
          break;
        case 'group':
          v = 1;
          break;
        case 'stdvar':
          v = a.v / a.n;
          break;
        case 'stddev':
          v = Math.sqrt(a.v / a.n);
          break;
        default:
          v = a.v;
      }
      out.push({ ref: a.ref, v });
    }
    return out;
  }

  // ---- functions ----

  private call(e: Call, t: number): Sample[] {
    const impl = FUNCTIONS.get(e.func)?.impl;
    switch (impl?.kind) {
      case 'range':
        return this.rangeCall(e, t, impl);
      case 'vector':
        return impl.fn(this, e, t);
      default:
        throw execError(`function ${goQuote(e.func)} is not supported`);
    }
  }

  private rangeCall(e: Call, t: number, impl: RangeImpl): Sample[] {
    const refs = this.q.refs;
    const matrixIdx = e.args.findIndex((a) => typeOf(a) === 'matrix');
    const scalars: number[] = [];
    e.args.forEach((a, i) => {
      if (i !== matrixIdx) scalars.push(this.scalar(a, t));
    });
    impl.check?.(this, scalars);
    const fn = impl.fn;
    const keepName = impl.keepsName === true;
    const arg = e.args[matrixIdx];
    const counterCheck = impl.counter === true;
    const checked = this.state(e.args, () => new Set<SeriesRef>());
    const ctx: RangeCtx = { t: new Float64Array(0), v: new Float64Array(0), lo: 0, hi: 0, rangeStart: 0, rangeEnd: 0, rangeMs: 0, evalT: t, scalars, resets: undefined };
    const out: Sample[] = [];
    this.forEachWindow(arg, t, (ref, tt, vv, lo, hi, te, range, s) => {
      if (counterCheck) ctx.resets = s.resets ??= resetPrefix(vv);
      ctx.t = tt;
      ctx.v = vv;
      ctx.lo = lo;
      ctx.hi = hi;
      ctx.rangeStart = te - range;
      ctx.rangeEnd = te;
      ctx.rangeMs = range;
      ctx.h = s.h;
      const outRef = keepName ? ref : refs.dropped(ref);
      const histograms = s.h ? countHistograms(s.h, lo, hi) : 0;
      if (counterCheck && histograms < hi - lo && !checked.has(ref)) {
        checked.add(ref);
        const name = ref.labels.__name__;
        if (name !== undefined && !/(_total|_sum|_count|_bucket)$/.test(name)) {
          this.q.info(`metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${goQuote(name)}`);
        }
      }
      if (histograms === 0) {
        const v = fn(ctx);
        if (v !== undefined) out.push({ ref: outRef, v });
        return;
      }
      const name = ref.labels.__name__ ?? '';
      if (impl.native) {
        const res = impl.native(ctx, this, name);
        if (res) out.push({ ref: outRef, ...res });
        return;
      }
      // A float function: histogram samples are left out.
      if (histograms === hi - lo) return;
      this.q.info(`ignored histograms in a range containing both floats and histograms for metric name ${goQuote(name)}`);
      const v = fn(floatsOnly(ctx));
      if (v !== undefined) out.push({ ref: outRef, v });
    });
    return out;
  }
}

/** Aggregations of float values only: histogram samples are left out with an info. */
const IGNORES_HISTOGRAMS = new Set(['min', 'max', 'stddev', 'stdvar', 'quantile', 'topk', 'bottomk']);

/**
 * Subquery points forget explicit counter-reset hints, as in Prometheus: a
 * subquery may repeat the sample carrying a reset, or skip it, so only the
 * values decide.
 */
function forgetResetHint(h: FloatHistogram | undefined): FloatHistogram | undefined {
  if (h === undefined || (h.counterResetHint !== 'reset' && h.counterResetHint !== 'not_reset')) return h;
  return { ...h, counterResetHint: 'unknown' };
}

function countHistograms(h: ReadonlyArray<FloatHistogram | undefined>, lo: number, hi: number): number {
  let n = 0;
  for (let i = lo; i < hi; i++) if (h[i]) n++;
  return n;
}

/** The window with its histogram samples taken out. */
function floatsOnly(c: RangeCtx): RangeCtx {
  const keep: number[] = [];
  for (let i = c.lo; i < c.hi; i++) if (!c.h?.[i]) keep.push(i);
  const t = Float64Array.from(keep, (i) => c.t[i]);
  const v = Float64Array.from(keep, (i) => c.v[i]);
  return { ...c, t, v, lo: 0, hi: keep.length, resets: undefined, h: undefined };
}

/**
 * Derived label sets are kept per source label set across queries (weakly):
 * rules evaluate the same series every interval, and reusing the objects
 * reuses their cached keys too.
 */
const groupCache = new WeakMap<Labels, Map<string, Labels>>();

function groupLabels(src: Labels, without: boolean, grouping: readonly string[]): Labels {
  const spec = (without ? 'w' : 'b') + grouping.join('\xff');
  let bySpec = groupCache.get(src);
  if (bySpec === undefined) groupCache.set(src, (bySpec = new Map()));
  let out = bySpec.get(spec);
  if (out === undefined) {
    const labels: Record<string, string> = {};
    if (without) {
      for (const n in src) if (n !== '__name__' && !grouping.includes(n)) labels[n] = src[n];
    } else {
      for (const n of grouping) if (src[n] !== undefined && src[n] !== '') labels[n] = src[n];
    }
    out = labels;
    if (bySpec.size < 64) bySpec.set(spec, out);
  }
  return out;
}

function matchGroupLabels(l: Labels, on: boolean, names: readonly string[]): Labels {
  const out: Record<string, string> = {};
  for (const n in l) {
    if (on ? names.includes(n) : n !== '__name__' && !names.includes(n)) out[n] = l[n];
  }
  return out;
}

/**
 * limit_ratio's deterministic place of a series in [0, 1): a hash of its
 * labels, so a ratio r and -r pick complementary sets, step after step. The
 * hash is not Prometheus's (xxhash), so the series picked differ from its.
 */
function ratioOffset(ref: SeriesRef): number {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < ref.key.length; i++) {
    h ^= BigInt(ref.key.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return Number(h >> 11n) / 2 ** 53;
}

/** Final step of every query: drop the names marked for dropping, then refuse duplicates. */
function finalLabels(ref: SeriesRef): Labels {
  return ref.dropName ? withoutName(ref.labels) : ref.labels;
}

function toInstantResult(samples: Sample[], t: number): InstantSample[] {
  const seen = new Set<string>();
  const out: InstantSample[] = [];
  for (const s of samples) {
    const labels = finalLabels(s.ref);
    const key = s.ref.dropName ? new RefTable().get(labels).key : s.ref.key;
    if (seen.has(key)) throw execError(DUPLICATE);
    seen.add(key);
    out.push(s.h ? { labels, t, v: 0, h: s.h } : { labels, t, v: s.v });
  }
  return out;
}

/**
 * Range results: series that end up with the same labels once names are
 * dropped (`-a or -b`) are merged when their steps do not overlap, as in
 * Prometheus; overlapping ones are an error.
 */
function toMatrixResult(series: EvalSeries[]): RangeSeries[] {
  const byKey = new Map<string, RangeSeries>();
  const table = new RefTable();
  for (const s of series) {
    const labels = finalLabels(s.ref);
    const key = s.ref.dropName ? table.get(labels).key : s.ref.key;
    const prev = byKey.get(key);
    if (prev === undefined) {
      byKey.set(key, s.h ? { labels, t: s.t, v: s.v, h: s.h } : { labels, t: s.t, v: s.v });
      continue;
    }
    byKey.set(key, { labels, ...mergePoints(prev, s) });
  }
  return [...byKey.values()].sort((a, b) => compareLabels(a.labels, b.labels));
}

function mergePoints(a: Omit<EvalSeries, 'ref'>, b: Omit<EvalSeries, 'ref'>): Omit<EvalSeries, 'ref'> {
  const t: number[] = [];
  const v: number[] = [];
  const h: Array<FloatHistogram | undefined> = [];
  let i = 0;
  let j = 0;
  while (i < a.t.length || j < b.t.length) {
    if (i < a.t.length && j < b.t.length && a.t[i] === b.t[j]) throw execError(DUPLICATE);
    if (j >= b.t.length || (i < a.t.length && a.t[i] < b.t[j])) {
      t.push(a.t[i]);
      h.push(a.h?.[i]);
      v.push(a.v[i++]);
    } else {
      t.push(b.t[j]);
      h.push(b.h?.[j]);
      v.push(b.v[j++]);
    }
  }
  return a.h || b.h ? { t, v, h } : { t, v };
}

export function compareLabels(a: Labels, b: Labels): number {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
    const va = a[ka[i]];
    const vb = b[kb[i]];
    if (va !== vb) return va < vb ? -1 : 1;
  }
  return ka.length - kb.length;
}

class Engine implements QueryEngine {
  private readonly opts: Required<EngineOptions>;

  constructor(
    private readonly storage: Pick<Storage, 'querier'>,
    opts: EngineOptions = {},
  ) {
    this.opts = { ...DEFAULTS, ...stripUndefined(opts) };
  }

  private ctx(start: number, end: number, step: number, o: QueryOptions | undefined): QueryCtx {
    const timeout = o?.timeoutMs ?? this.opts.timeoutMs;
    return new QueryCtx(
      this.storage.querier(),
      o?.lookbackDeltaMs ?? this.opts.lookbackDeltaMs,
      o?.maxSamples ?? this.opts.maxSamples,
      Date.now() + timeout,
      o?.signal,
      start,
      end,
      step,
      this.opts.subqueryStepMs,
    );
  }

  async instantQuery(expr: string, t: number, o?: QueryOptions): Promise<QueryResult> {
    checkTime(t, 'time');
    const ast = resolve(parseExpr(expr), 0, 0);
    const q = this.ctx(t, t, 0, o);
    const ev = new Evaluator(q, t, t, 1);
    const value = wrapInternal((): QueryValue => {
      switch (typeOf(ast)) {
        case 'scalar':
          return { resultType: 'scalar', t, v: ev.scalar(ast, t) };
        case 'string':
          return { resultType: 'string', t, v: ev.string(ast) };
        case 'matrix':
          return { resultType: 'matrix', result: ev.matrixAt(ast, t) };
        case 'vector': {
          const vec = ev.vector(ast, t);
          q.addSamples(vec.length);
          return { resultType: 'vector', result: toInstantResult(vec, t) };
        }
      }
    });
    return { value, warnings: [...q.warnings], infos: [...q.infos] };
  }

  async rangeQuery(expr: string, start: number, end: number, stepMs: number, o?: QueryOptions): Promise<QueryResult> {
    checkTime(start, 'start');
    checkTime(end, 'end');
    if (end < start) throw new PromQLError('bad_data', 'end timestamp must not be before start time');
    if (!(stepMs > 0) || !Number.isFinite(stepMs)) {
      throw new PromQLError('bad_data', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
    }
    if ((end - start) / stepMs > MAX_STEPS) {
      throw new PromQLError('bad_data', 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
    }
    const ast = resolve(parseExpr(expr), stepMs, end - start);
    const type = typeOf(ast);
    if (type !== 'scalar' && type !== 'vector') {
      throw new PromQLError('bad_data', `invalid expression type "${type === 'matrix' ? 'range vector' : type}" for range query, must be Scalar or instant Vector`);
    }
    const q = this.ctx(start, end, stepMs, o);
    const ev = new Evaluator(q, start, end, stepMs);
    const acc = new Map<SeriesRef, EvalSeries>();
    const sliceMs = o?.sliceMs;
    if (sliceMs !== undefined) {
      await ev.prepare(ast, sliceMs, yieldToLoop).catch((err: unknown) =>
        wrapInternal(() => {
          throw err;
        }),
      );
    }
    for (let next: number | undefined = start; next !== undefined; ) {
      const from: number = next;
      next = wrapInternal(() => ev.rangeSteps(ast, from, sliceMs === undefined ? Infinity : performance.now() + sliceMs, acc));
      if (next !== undefined) await yieldToLoop();
    }
    const result = wrapInternal(() => toMatrixResult([...acc.values()]));
    return { value: { resultType: 'matrix', result }, warnings: [...q.warnings], infos: [...q.infos] };
  }
}

/** Computes the durations that depend on the query (`[step()]`, `offset range()`). */
function resolve(ast: Expr, stepMs: number, rangeMs: number): Expr {
  try {
    return resolveDurations(ast, { stepSeconds: stepMs / 1000, rangeSeconds: rangeMs / 1000 });
  } catch (err) {
    if (err instanceof DurationError) throw new PromQLError('bad_data', err.message);
    throw err;
  }
}

function checkTime(t: number, what: string): void {
  if (!Number.isFinite(t)) throw new PromQLError('bad_data', `invalid ${what}: ${t}`);
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/** A subquery's result as its enclosing evaluation reads it. */
function subquerySeries(res: EvalSeries[]): SelSeries[] {
  return res.map((s) => ({ ref: s.ref, t: Float64Array.from(s.t), v: Float64Array.from(s.v), stale: undefined, h: s.h?.map(forgetResetHint) }));
}

/** The outermost subqueries in `e` (those inside them belong to their evaluation). */
function subqueriesOf(e: Expr, out: SubqueryExpr[] = []): SubqueryExpr[] {
  switch (e.type) {
    case 'SubqueryExpr':
      out.push(e);
      break;
    case 'Call':
      for (const a of e.args) subqueriesOf(a, out);
      break;
    case 'AggregateExpr':
      subqueriesOf(e.expr, out);
      if (e.param) subqueriesOf(e.param, out);
      break;
    case 'BinaryExpr':
      subqueriesOf(e.lhs, out);
      subqueriesOf(e.rhs, out);
      break;
    case 'UnaryExpr':
    case 'ParenExpr':
      subqueriesOf(e.expr, out);
      break;
  }
  return out;
}

/** Turns unexpected exceptions (e.g. stack overflow) into clean query errors. */
function wrapInternal<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof PromQLError) throw err;
    if (err instanceof RangeError) throw new PromQLError('execution', `query too complex: ${err.message}`);
    throw new PromQLError('internal', `internal error: ${(err as Error).message}`);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function createEngine(storage: Pick<Storage, 'querier'>, opts?: EngineOptions): QueryEngine {
  return new Engine(storage, opts);
}
