import type { Labels, Querier, Storage } from '../tsdb/types.js';
import { compileRegex, expandTemplate, type Regex } from '../model/regex.js';
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
import { RANGE_FUNCTIONS, KEEPS_NAME, type RangeCtx } from './range-functions.js';
import { DATE_FUNCTIONS, MATH_FUNCTIONS, naturalLess } from './instant-functions.js';
import { MeanAcc, bucketFraction, bucketQuantile, goPow, kahanAdd, quantile, type Bucket, type Kahan } from './mathx.js';
import { RefTable, withoutName, type Sample, type SeriesRef } from './value.js';
import { isValidUtf8 } from './strings.js';
import { formatFloat, goQuote, tryParseGoFloat } from '../model/strconv.js';
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

interface SelSeries {
  ref: SeriesRef;
  t: Float64Array;
  v: Float64Array;
  stale: Uint8Array | undefined;
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

const DUPLICATE = 'vector cannot contain metrics with the same labelset';

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
class Evaluator {
  private readonly cache = new Map<object, unknown>();
  private readonly cursors = new Map<object, { te: number; lo: Int32Array; hi: Int32Array }>();

  constructor(
    private readonly q: QueryCtx,
    readonly start: number,
    readonly end: number,
    readonly interval: number,
  ) {}

  private state<T>(e: object, init: () => T): T {
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
      const raw = this.q.querier.select(vs.matchers, mint, maxt);
      const out: SelSeries[] = [];
      let n = 0;
      for (const s of raw) {
        let { t, v } = s;
        let stale = s.stale;
        if (dropStale && stale) {
          const keep: number[] = [];
          for (let i = 0; i < t.length; i++) if (!stale[i]) keep.push(i);
          t = Float64Array.from(keep, (i) => s.t[i]);
          v = Float64Array.from(keep, (i) => s.v[i]);
          stale = undefined;
        }
        n += t.length;
        out.push({ ref: this.q.refs.get(s.labels), t, v, stale });
      }
      this.q.addSamples(n);
      return out;
    });
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
      case 'Call':
        switch (e.func) {
          case 'time':
            return t / 1000;
          case 'pi':
            return Math.PI;
          case 'scalar': {
            const v = this.vector(e.args[0], t);
            return v.length === 1 ? v[0].v : NaN;
          }
        }
        break;
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
        return v.map((s) => ({ ref: this.q.refs.dropped(s.ref), v: -s.v }));
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
      out.push({ ref: s.ref, v: timestamps ? s.t[i] / 1000 : s.v[i] });
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
    const step = e.stepMs || this.q.subqueryStep;
    const from = (at ?? this.start) - e.offsetMs - e.rangeMs;
    const start = Math.ceil(from / step) * step;
    const end = (at ?? this.end) - e.offsetMs;
    if ((end - start) / step > MAX_SUBQUERY_STEPS) {
      throw execError(
        `subquery would evaluate ${Math.floor((end - start) / step) + 1} steps (limit ${MAX_SUBQUERY_STEPS}); use a larger subquery step or a shorter range`,
      );
    }
    const inner = new Evaluator(this.q, start, end, step);
    const res = inner.rangeEval(e.expr);
    return res.map((s) => ({ ref: s.ref, t: Float64Array.from(s.t), v: Float64Array.from(s.v), stale: undefined }));
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
    this.forEachWindow(e, t, (ref, tt, vv, lo, hi) => {
      this.q.addSamples(hi - lo);
      out.push({ labels: ref.labels, t: Array.from(tt.subarray(lo, hi)), v: Array.from(vv.subarray(lo, hi)) });
    });
    return out;
  }

  // ---- whole-range evaluation ----

  /** Evaluates an instant-vector or scalar expression at every step. */
  rangeEval(e: Expr): Array<{ ref: SeriesRef; t: number[]; v: number[] }> {
    const isScalar = typeOf(e) === 'scalar';
    const series = new Map<SeriesRef, { ref: SeriesRef; t: number[]; v: number[] }>();
    const scalarRef = this.q.refs.get({});
    for (let t = this.start; t <= this.end; t += this.interval) {
      this.q.checkNow();
      if (isScalar) {
        let s = series.get(scalarRef);
        if (!s) series.set(scalarRef, (s = { ref: scalarRef, t: [], v: [] }));
        s.t.push(t);
        s.v.push(this.scalar(e, t));
        this.q.addSamples(1);
        continue;
      }
      const vec = this.vector(e, t);
      const stamp = ++this.q.stamp;
      for (const smp of vec) {
        if (smp.ref.stamp === stamp) throw execError(DUPLICATE);
        smp.ref.stamp = stamp;
        let s = series.get(smp.ref);
        if (!s) series.set(smp.ref, (s = { ref: smp.ref, t: [], v: [] }));
        s.t.push(t);
        s.v.push(smp.v);
      }
      this.q.addSamples(vec.length);
    }
    return [...series.values()];
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
      const l = oneToMany ? o.v : s.v;
      const r = oneToMany ? s.v : o.v;
      let value: number;
      if (cmp) {
        const ok = compare(e.op, l, r);
        if (!e.returnBool && !ok) continue;
        value = e.returnBool ? (ok ? 1 : 0) : l;
      } else value = arith(e.op, l, r);
      const ref = this.resultRef(resultCache, s.ref, o.ref, matching, dropName);
      if (!matched) {
        if (ref.stamp === stamp) throw execError('multiple matches for labels: grouping labels must ensure unique matches');
        ref.stamp = stamp;
      }
      out.push({ ref, v: value });
    }
    return out;
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
    const input = this.vector(e.expr, t);
    const refs = this.q.refs;
    const groupOf = this.state(e, () => new Map<SeriesRef, SeriesRef>());
    const group = (ref: SeriesRef): SeriesRef => {
      let g = groupOf.get(ref);
      if (!g) {
        const labels = groupLabels(ref.labels, e.without, e.grouping);
        g = refs.get(labels, ref.dropName && '__name__' in labels);
        groupOf.set(ref, g);
      }
      return g;
    };
    let param = NaN;
    if (e.param && e.op !== 'count_values') param = this.scalar(e.param, t);

    switch (e.op) {
      case 'topk':
      case 'bottomk':
      case 'limitk': {
        if (!Number.isFinite(param) || Math.abs(param) >= 2 ** 63) {
          throw execError(`Scalar value ${formatFloat(param)} overflows int64`);
        }
        const k = Math.trunc(param);
        if (k < 1) return [];
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
      case 'count_values': {
        const label = this.string(e.param!);
        if (!isValidUtf8(label) || label === '') throw execError(`invalid label name ${goQuote(label)}`);
        const counts = new Map<SeriesRef, number>();
        const cvCache = this.state(e.param!, () => new Map<string, SeriesRef>());
        for (const s of input) {
          const g = group(s.ref);
          const val = formatFloat(s.v);
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
        if (Number.isNaN(param) || param < 0 || param > 1) this.q.warn(`quantile value should be between 0 and 1, got ${formatG(param)}`);
        const groups = new Map<SeriesRef, number[]>();
        for (const s of input) {
          const g = group(s.ref);
          let list = groups.get(g);
          if (!list) groups.set(g, (list = []));
          list.push(s.v);
        }
        return [...groups].map(([ref, vals]) => ({ ref, v: quantile(param, vals) }));
      }
      default:
        return this.simpleAggregate(e.op, input, group);
    }
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
    const refs = this.q.refs;
    const f = e.func;
    const rangeFn = RANGE_FUNCTIONS[f] as unknown;
    if (rangeFn || f === 'absent_over_time') return this.rangeCall(e, t);
    const math = MATH_FUNCTIONS[f] as ((v: number) => number) | undefined;
    if (math) return this.vector(e.args[0], t).map((s) => ({ ref: refs.dropped(s.ref), v: math(s.v) }));
    const date = DATE_FUNCTIONS[f] as ((v: number) => number) | undefined;
    if (date) {
      if (e.args.length === 0) return [{ ref: refs.get({}), v: date(t / 1000) }];
      return this.vector(e.args[0], t).map((s) => ({ ref: refs.dropped(s.ref), v: date(s.v) }));
    }
    switch (f) {
      case 'vector':
        return [{ ref: refs.get({}), v: this.scalar(e.args[0], t) }];
      case 'timestamp': {
        const arg = unwrapParens(e.args[0]);
        const vec = arg.type === 'VectorSelector' ? this.instantSelector(arg, t, true) : this.vector(arg, t).map((s) => ({ ref: s.ref, v: t / 1000 }));
        return vec.map((s) => ({ ref: refs.dropped(s.ref), v: s.v }));
      }
      case 'clamp':
      case 'clamp_min':
      case 'clamp_max': {
        const vec = this.vector(e.args[0], t);
        const lo = f === 'clamp_max' ? -Infinity : this.scalar(e.args[1], t);
        const hi = f === 'clamp' ? this.scalar(e.args[2], t) : f === 'clamp_max' ? this.scalar(e.args[1], t) : Infinity;
        if (f === 'clamp' && hi < lo) return [];
        return vec.map((s) => ({ ref: refs.dropped(s.ref), v: goMax(lo, goMin(hi, s.v)) }));
      }
      case 'round': {
        const vec = this.vector(e.args[0], t);
        const to = e.args[1] ? this.scalar(e.args[1], t) : 1;
        const inv = 1 / to;
        return vec.map((s) => ({ ref: refs.dropped(s.ref), v: Math.floor(s.v * inv + 0.5) / inv }));
      }
      case 'absent': {
        if (this.vector(e.args[0], t).length > 0) return [];
        return [{ ref: this.absentRef(e.args[0]), v: 1 }];
      }
      case 'sort':
      case 'sort_desc': {
        const desc = f === 'sort_desc';
        return this.vector(e.args[0], t).sort((a, b) => {
          const an = Number.isNaN(a.v);
          const bn = Number.isNaN(b.v);
          if (an || bn) return an === bn ? 0 : an ? 1 : -1;
          return desc ? b.v - a.v : a.v - b.v;
        });
      }
      case 'sort_by_label':
      case 'sort_by_label_desc': {
        const names = e.args.slice(1).map((a) => this.string(a));
        const sign = f === 'sort_by_label_desc' ? -1 : 1;
        return this.vector(e.args[0], t).sort((a, b) => {
          for (const n of names) {
            const x = a.ref.labels[n] ?? '';
            const y = b.ref.labels[n] ?? '';
            if (x === y) continue;
            return sign * naturalLess(x, y);
          }
          return sign * (a.ref.key < b.ref.key ? -1 : a.ref.key > b.ref.key ? 1 : 0);
        });
      }
      case 'label_replace':
        return this.labelReplace(e, t);
      case 'label_join':
        return this.labelJoin(e, t);
      case 'histogram_quantile':
        return this.histogramQuantile(e, t);
      case 'histogram_fraction':
        return this.histogramFraction(e, t);
      case 'histogram_count':
      case 'histogram_sum':
      case 'histogram_avg':
      case 'histogram_stddev':
      case 'histogram_stdvar':
        // Native histograms only; classic float series yield nothing.
        for (const a of e.args) if (typeOf(a) === 'vector') this.vector(a, t);
        return [];
      default:
        throw execError(`function ${goQuote(f)} is not supported`);
    }
  }

  private absentRef(arg: Expr): SeriesRef {
    let sel: Expr = arg;
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
    return this.q.refs.get(labels);
  }

  private rangeCall(e: Call, t: number): Sample[] {
    const f = e.func;
    const refs = this.q.refs;
    const matrixIdx = e.args.findIndex((a) => typeOf(a) === 'matrix');
    const scalars: number[] = [];
    e.args.forEach((a, i) => {
      if (i !== matrixIdx) scalars.push(this.scalar(a, t));
    });
    if (f === 'quantile_over_time' && (Number.isNaN(scalars[0]) || scalars[0] < 0 || scalars[0] > 1)) {
      this.q.warn(`quantile value should be between 0 and 1, got ${formatG(scalars[0])}`);
    }
    if (f === 'double_exponential_smoothing') {
      const [sf, tf] = scalars;
      if (!(sf > 0 && sf < 1)) throw execError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${formatG(sf)}`);
      if (!(tf > 0 && tf < 1)) throw execError(`invalid trend factor. Expected: 0 < tf < 1, got: ${formatG(tf)}`);
    }
    const fn = RANGE_FUNCTIONS[f];
    const keepName = KEEPS_NAME.has(f);
    const arg = e.args[matrixIdx];
    if (f === 'absent_over_time') {
      let any = false;
      this.forEachWindow(arg, t, () => {
        any = true;
      });
      return any ? [] : [{ ref: this.absentRef(unwrapParens(arg)), v: 1 }];
    }
    const counterCheck = f === 'rate' || f === 'increase';
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
      const v = fn(ctx);
      if (counterCheck && !checked.has(ref)) {
        checked.add(ref);
        const name = ref.labels.__name__;
        if (name !== undefined && !/(_total|_sum|_count|_bucket)$/.test(name)) {
          this.q.info(`metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${goQuote(name)}`);
        }
      }
      if (v === undefined) return;
      out.push({ ref: keepName ? ref : refs.dropped(ref), v });
    });
    return out;
  }

  private labelReplace(e: Call, t: number): Sample[] {
    const [dst, repl, src, regex] = e.args.slice(1).map((a) => this.string(a));
    const st = this.state(e, () => {
      let re: Regex;
      try {
        re = compileRegex(regex);
      } catch {
        throw execError(`invalid regular expression in label_replace(): ${regex}`);
      }
      if (!isValidUtf8(dst) || dst === '') throw execError(`invalid destination label name in label_replace(): ${dst}`);
      return { re, map: new Map<SeriesRef, SeriesRef>() };
    });
    return this.relabel(e, t, st.map, (ref) => {
      const m = st.re.exec(ref.labels[src] ?? '');
      if (!m) return ref;
      const value = expandTemplate(repl, m);
      return this.setLabel(ref, dst, value);
    });
  }

  private labelJoin(e: Call, t: number): Sample[] {
    const [dst, sep, ...srcs] = e.args.slice(1).map((a) => this.string(a));
    if (!isValidUtf8(dst) || dst === '') throw execError(`invalid destination label name in label_join(): ${dst}`);
    const map = this.state(e, () => new Map<SeriesRef, SeriesRef>());
    return this.relabel(e, t, map, (ref) => this.setLabel(ref, dst, srcs.map((s) => ref.labels[s] ?? '').join(sep)));
  }

  private setLabel(ref: SeriesRef, name: string, value: string): SeriesRef {
    const labels: Record<string, string> = { ...ref.labels };
    if (value === '') delete labels[name];
    else labels[name] = value;
    return this.q.refs.get(labels, name === '__name__' ? false : ref.dropName);
  }

  private relabel(e: Call, t: number, cache: Map<SeriesRef, SeriesRef>, fn: (r: SeriesRef) => SeriesRef): Sample[] {
    const vec = this.vector(e.args[0], t);
    const stamp = ++this.q.stamp;
    return vec.map((s) => {
      let ref = cache.get(s.ref);
      if (!ref) {
        ref = fn(s.ref);
        cache.set(s.ref, ref);
      }
      if (ref.stamp === stamp) throw execError(DUPLICATE);
      ref.stamp = stamp;
      return { ref, v: s.v };
    });
  }

  /** Groups classic bucket series by their labels without `le`. */
  private bucketGroups(e: Call, vec: Sample[]): Map<SeriesRef, Bucket[]> {
    const groupCache = this.state(e, () => new Map<SeriesRef, { ref: SeriesRef; le: number } | null>());
    const groups = new Map<SeriesRef, Bucket[]>();
    for (const s of vec) {
      let g = groupCache.get(s.ref);
      if (g === undefined) {
        const b = bucketOf(s.ref.labels);
        g = b === null ? null : { ref: this.q.refs.get(b.labels, true), le: b.le };
        groupCache.set(s.ref, g);
      }
      if (g === null) {
        this.q.warn(
          `bucket label "le" is missing or has a malformed value of ${goQuote(s.ref.labels.le ?? '')} for metric name ${goQuote(s.ref.labels.__name__ ?? '')}`,
        );
        continue;
      }
      let list = groups.get(g.ref);
      if (!list) groups.set(g.ref, (list = []));
      list.push({ upper: g.le, count: s.v });
    }
    return groups;
  }

  private histogramQuantile(e: Call, t: number): Sample[] {
    const q = this.scalar(e.args[0], t);
    const vec = this.vector(e.args[1], t);
    if (Number.isNaN(q) || q < 0 || q > 1) this.q.warn(`quantile value should be between 0 and 1, got ${formatG(q)}`);
    const out: Sample[] = [];
    for (const [ref, buckets] of this.bucketGroups(e, vec)) {
      const r = bucketQuantile(q, buckets);
      if (r.forcedMonotonic) {
        this.q.info(
          `input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name ${goQuote(ref.labels.__name__ ?? '')}`,
        );
      }
      out.push({ ref, v: r.value });
    }
    return out;
  }

  private histogramFraction(e: Call, t: number): Sample[] {
    const lower = this.scalar(e.args[0], t);
    const upper = this.scalar(e.args[1], t);
    const vec = this.vector(e.args[2], t);
    const out: Sample[] = [];
    for (const [ref, buckets] of this.bucketGroups(e, vec)) out.push({ ref, v: bucketFraction(lower, upper, buckets) });
    return out;
  }
}

function goMax(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.max(a, b);
}

function goMin(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.min(a, b);
}

/** Go's %g for the few values that appear in messages. */
function formatG(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  return String(f);
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

const bucketCache = new WeakMap<Labels, { labels: Labels; le: number } | null>();

/** A classic bucket's labels without `le`, and its upper bound; null when `le` is missing or malformed. */
function bucketOf(src: Labels): { labels: Labels; le: number } | null {
  let b = bucketCache.get(src);
  if (b === undefined) {
    const leStr = src.le;
    const le = leStr === undefined ? NaN : (tryParseGoFloat(leStr) ?? NaN);
    if (Number.isNaN(le)) b = null;
    else {
      const labels: Record<string, string> = { ...src };
      delete labels.le;
      b = { labels, le };
    }
    bucketCache.set(src, b);
  }
  return b;
}

function matchGroupLabels(l: Labels, on: boolean, names: readonly string[]): Labels {
  const out: Record<string, string> = {};
  for (const n in l) {
    if (on ? names.includes(n) : n !== '__name__' && !names.includes(n)) out[n] = l[n];
  }
  return out;
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
    out.push({ labels, t, v: s.v });
  }
  return out;
}

function toMatrixResult(series: Array<{ ref: SeriesRef; t: number[]; v: number[] }>): RangeSeries[] {
  const seen = new Set<string>();
  const table = new RefTable();
  const out: RangeSeries[] = [];
  for (const s of series) {
    const labels = finalLabels(s.ref);
    const key = s.ref.dropName ? table.get(labels).key : s.ref.key;
    if (seen.has(key)) throw execError(DUPLICATE);
    seen.add(key);
    out.push({ labels, t: s.t, v: s.v });
  }
  out.sort((a, b) => compareLabels(a.labels, b.labels));
  return out;
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

  private ctx(start: number, end: number, o: QueryOptions | undefined): QueryCtx {
    const timeout = o?.timeoutMs ?? this.opts.timeoutMs;
    return new QueryCtx(
      this.storage.querier(),
      o?.lookbackDeltaMs ?? this.opts.lookbackDeltaMs,
      o?.maxSamples ?? this.opts.maxSamples,
      Date.now() + timeout,
      o?.signal,
      start,
      end,
      this.opts.subqueryStepMs,
    );
  }

  async instantQuery(expr: string, t: number, o?: QueryOptions): Promise<QueryResult> {
    checkTime(t, 'time');
    const ast = parseExpr(expr);
    const q = this.ctx(t, t, o);
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
    const ast = parseExpr(expr);
    const type = typeOf(ast);
    if (type !== 'scalar' && type !== 'vector') {
      throw new PromQLError('bad_data', `invalid expression type "${type === 'matrix' ? 'range vector' : type}" for range query, must be Scalar or instant Vector`);
    }
    const q = this.ctx(start, end, o);
    const ev = new Evaluator(q, start, end, stepMs);
    const result = wrapInternal(() => toMatrixResult(ev.rangeEval(ast)));
    return { value: { resultType: 'matrix', result }, warnings: [...q.warnings], infos: [...q.infos] };
  }
}

function checkTime(t: number, what: string): void {
  if (!Number.isFinite(t)) throw new PromQLError('bad_data', `invalid ${what}: ${t}`);
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
