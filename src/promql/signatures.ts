import type { ValueType } from './ast.js';

/**
 * Argument and return types of the PromQL functions, as Prometheus checks them.
 * `optional` counts trailing optional arguments; `variadic` allows any number
 * of further arguments of the last type.
 */
export interface FunctionSignature {
  readonly args: readonly ValueType[];
  readonly returns: ValueType;
  readonly optional?: number;
  readonly variadic?: boolean;
}

const v = 'vector' as const;
const m = 'matrix' as const;
const s = 'scalar' as const;
const str = 'string' as const;

const sig = (args: ValueType[], returns: ValueType, extra: Partial<FunctionSignature> = {}): FunctionSignature => ({
  args,
  returns,
  ...extra,
});

const MATH = [
  'abs', 'ceil', 'floor', 'exp', 'sqrt', 'ln', 'log2', 'log10', 'sgn', 'deg', 'rad',
  'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh',
];
const DATE = ['day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'hour', 'minute', 'month', 'year'];
const OVER_TIME = [
  'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time',
  'stddev_over_time', 'stdvar_over_time', 'last_over_time', 'first_over_time', 'present_over_time',
  'absent_over_time', 'mad_over_time', 'ts_of_max_over_time', 'ts_of_min_over_time',
  'ts_of_last_over_time', 'ts_of_first_over_time',
  'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'resets', 'changes',
];
/** Native-histogram functions: classic float series yield nothing. */
const NATIVE = ['histogram_count', 'histogram_sum', 'histogram_avg', 'histogram_stddev', 'histogram_stdvar'];

export const FUNCTIONS: ReadonlyMap<string, FunctionSignature> = new Map<string, FunctionSignature>([
  ...MATH.map((n) => [n, sig([v], v)] as const),
  ...DATE.map((n) => [n, sig([v], v, { optional: 1 })] as const),
  ...OVER_TIME.map((n) => [n, sig([m], v)] as const),
  ...NATIVE.map((n) => [n, sig([v], v)] as const),
  ['absent', sig([v], v)],
  ['clamp', sig([v, s, s], v)],
  ['clamp_max', sig([v, s], v)],
  ['clamp_min', sig([v, s], v)],
  ['histogram_quantile', sig([s, v], v)],
  ['histogram_fraction', sig([s, s, v], v)],
  ['double_exponential_smoothing', sig([m, s, s], v)],
  ['label_replace', sig([v, str, str, str, str], v)],
  ['label_join', sig([v, str, str, str], v, { variadic: true, optional: 1 })],
  ['predict_linear', sig([m, s], v)],
  ['quantile_over_time', sig([s, m], v)],
  ['round', sig([v, s], v, { optional: 1 })],
  ['scalar', sig([v], s)],
  ['sort', sig([v], v)],
  ['sort_desc', sig([v], v)],
  ['sort_by_label', sig([v, str], v, { variadic: true, optional: 1 })],
  ['sort_by_label_desc', sig([v, str], v, { variadic: true, optional: 1 })],
  ['time', sig([], s)],
  ['pi', sig([], s)],
  ['timestamp', sig([v], v)],
  ['vector', sig([s], v)],
]);
