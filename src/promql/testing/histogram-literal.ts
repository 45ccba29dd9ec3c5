import {
  CUSTOM_BUCKETS_SCHEMA,
  EMPTY_BUCKETS,
  HistogramError,
  MAX_SCHEMA,
  MIN_SCHEMA,
  bucketsFromSpans,
  type CounterResetHint,
  type FloatHistogram,
} from '../../model/histogram.js';

/**
 * The test scripts' native histogram literal, e.g.
 * `{{schema:0 sum:5 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2] offset:1
 * n_buckets:[1] n_offset:0 custom_values:[1 2] counter_reset_hint:gauge}}`.
 * Bucket counts are absolute; `offset` is the index of the first bucket.
 */
export function parseHistogramLiteral(text: string): { h: FloatHistogram; hintSet: boolean } {
  const m = /^\{\{(.*)\}\}$/s.exec(text.trim());
  if (!m) throw new Error(`bad histogram ${JSON.stringify(text)}`);
  const fields = new Map<string, string>();
  const re = /\s*([a-z_]+):\s*(\[[^\]]*\]|[^\s\]]+)\s*/gy;
  const body = m[1].trim();
  let at = 0;
  while (at < body.length) {
    re.lastIndex = at;
    const f = re.exec(body);
    if (!f) throw new Error(`bad histogram field at ${JSON.stringify(body.slice(at, at + 20))}`);
    if (fields.has(f[1])) throw new Error(`histogram field ${f[1]} given twice`);
    fields.set(f[1], f[2]);
    at = re.lastIndex;
  }
  const num = (k: string, dflt: number): number => {
    const v = fields.get(k);
    if (v === undefined) return dflt;
    const n = parseFloatLiteral(v);
    if (n === undefined) throw new Error(`histogram field ${k}: bad number ${JSON.stringify(v)}`);
    return n;
  };
  const list = (k: string): number[] => {
    const v = fields.get(k);
    if (v === undefined) return [];
    if (!v.startsWith('[')) throw new Error(`histogram field ${k}: expected [...]`);
    return v
      .slice(1, -1)
      .split(/\s+/)
      .filter(Boolean)
      .map((x) => {
        const n = parseFloatLiteral(x);
        if (n === undefined) throw new Error(`histogram field ${k}: bad number ${JSON.stringify(x)}`);
        return n;
      });
  };
  const known = new Set(['schema', 'sum', 'count', 'z_bucket', 'z_bucket_w', 'buckets', 'offset', 'n_buckets', 'n_offset', 'counter_reset_hint', 'custom_values']);
  for (const k of fields.keys()) if (!known.has(k)) throw new Error(`unknown histogram field ${k}`);
  const schema = num('schema', 0);
  if (!Number.isInteger(schema) || (schema !== CUSTOM_BUCKETS_SCHEMA && (schema < MIN_SCHEMA || schema > MAX_SCHEMA))) {
    throw new Error(`histogram schema ${schema} out of range`);
  }
  const hintText = fields.get('counter_reset_hint');
  const hints: Record<string, CounterResetHint> = { unknown: 'unknown', reset: 'reset', not_reset: 'not_reset', gauge: 'gauge' };
  const hint = hintText === undefined ? 'unknown' : hints[hintText];
  if (hint === undefined) throw new Error(`bad counter_reset_hint ${JSON.stringify(hintText)}`);
  const buckets = list('buckets');
  const negBuckets = list('n_buckets');
  try {
    const h: FloatHistogram = {
      schema,
      counterResetHint: hint,
      zeroThreshold: num('z_bucket_w', 0),
      zeroCount: num('z_bucket', 0),
      count: num('count', 0),
      sum: num('sum', 0),
      positive: buckets.length ? bucketsFromSpans([{ offset: num('offset', 0), length: buckets.length }], buckets) : EMPTY_BUCKETS,
      negative: negBuckets.length ? bucketsFromSpans([{ offset: num('n_offset', 0), length: negBuckets.length }], negBuckets) : EMPTY_BUCKETS,
      ...(schema === CUSTOM_BUCKETS_SCHEMA ? { customValues: list('custom_values') } : {}),
    };
    return { h, hintSet: hintText !== undefined };
  } catch (err) {
    if (err instanceof HistogramError) throw new Error(`bad histogram: ${err.message}`);
    throw err;
  }
}

function parseFloatLiteral(s: string): number | undefined {
  const l = s.toLowerCase().replace(/^\+/, '');
  if (l === 'inf') return Infinity;
  if (l === '-inf') return -Infinity;
  if (l === 'nan') return NaN;
  const n = Number(s);
  return s.trim() === '' || Number.isNaN(n) ? undefined : n;
}
