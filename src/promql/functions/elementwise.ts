import type { Call } from '../ast.js';
import type { Sample } from '../value.js';
import type { FnContext, FunctionDef, FunctionTable } from './types.js';

/** Value in, value out (undefined drops the sample); scalars are the call's further arguments. */
type ValueFn = (v: number, scalars: number[]) => number | undefined;

/** Applies fn to every sample of the first argument; the results lose `__name__`. */
function mapSamples(c: FnContext, e: Call, t: number, fn: ValueFn): Sample[] {
  const scalars: number[] = [];
  for (let i = 1; i < e.args.length; i++) scalars.push(c.scalar(e.args[i], t));
  const out: Sample[] = [];
  for (const s of c.vector(e.args[0], t)) {
    // Float functions leave native histogram samples out, as Prometheus does.
    if (s.h) continue;
    const v = fn(s.v, scalars);
    if (v !== undefined) out.push({ ref: c.refs.dropped(s.ref), v });
  }
  return out;
}

function math(fn: (v: number) => number): FunctionDef {
  return { args: ['vector'], returns: 'vector', impl: { kind: 'vector', fn: (c, e, t) => mapSamples(c, e, t, fn) } };
}

function utc(v: number): Date {
  return new Date(Math.trunc(v) * 1000);
}

/** Calendar functions on Unix seconds, in UTC; without an argument they read `vector(time())`. */
function date(fn: (v: number) => number): FunctionDef {
  return {
    args: ['vector'],
    returns: 'vector',
    variadic: 1,
    impl: {
      kind: 'vector',
      fn: (c, e, t) => (e.args.length === 0 ? [{ ref: c.refs.get({}), v: fn(t / 1000) }] : mapSamples(c, e, t, fn)),
    },
  };
}

function goMax(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
}

function goMin(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b);
}

function clamp(kind: 'clamp' | 'clamp_min' | 'clamp_max'): FunctionDef {
  const bounds = (s: number[]): [number, number] =>
    kind === 'clamp' ? [s[0], s[1]] : kind === 'clamp_min' ? [s[0], Infinity] : [-Infinity, s[0]];
  return {
    args: kind === 'clamp' ? ['vector', 'scalar', 'scalar'] : ['vector', 'scalar'],
    returns: 'vector',
    impl: {
      kind: 'vector',
      fn: (c, e, t) =>
        mapSamples(c, e, t, (v, s) => {
          const [lo, hi] = bounds(s);
          // clamp with max < min yields nothing, as in Prometheus.
          return hi < lo ? undefined : goMax(lo, goMin(hi, v));
        }),
    },
  };
}

export const ELEMENTWISE_FUNCTIONS: FunctionTable = {
  abs: math(Math.abs),
  ceil: math(Math.ceil),
  floor: math(Math.floor),
  exp: math(Math.exp),
  sqrt: math(Math.sqrt),
  ln: math(Math.log),
  log2: math(Math.log2),
  log10: math(Math.log10),
  sgn: math((v) => (v > 0 ? 1 : v < 0 ? -1 : v)),
  deg: math((v) => (v * 180) / Math.PI),
  rad: math((v) => (v * Math.PI) / 180),
  sin: math(Math.sin),
  cos: math(Math.cos),
  tan: math(Math.tan),
  asin: math(Math.asin),
  acos: math(Math.acos),
  atan: math(Math.atan),
  sinh: math(Math.sinh),
  cosh: math(Math.cosh),
  tanh: math(Math.tanh),
  asinh: math(Math.asinh),
  acosh: math(Math.acosh),
  atanh: math(Math.atanh),
  day_of_month: date((v) => utc(v).getUTCDate()),
  day_of_week: date((v) => utc(v).getUTCDay()),
  day_of_year: date((v) => {
    const d = utc(v);
    return Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000) + 1;
  }),
  days_in_month: date((v) => {
    const d = utc(v);
    return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  }),
  hour: date((v) => utc(v).getUTCHours()),
  minute: date((v) => utc(v).getUTCMinutes()),
  month: date((v) => utc(v).getUTCMonth() + 1),
  year: date((v) => utc(v).getUTCFullYear()),
  clamp: clamp('clamp'),
  clamp_min: clamp('clamp_min'),
  clamp_max: clamp('clamp_max'),
  round: {
    args: ['vector', 'scalar'],
    returns: 'vector',
    variadic: 1,
    impl: {
      kind: 'vector',
      fn: (c, e, t) =>
        mapSamples(c, e, t, (v, s) => {
          const inv = 1 / (s.length ? s[0] : 1);
          return Math.floor(v * inv + 0.5) / inv;
        }),
    },
  },
};
