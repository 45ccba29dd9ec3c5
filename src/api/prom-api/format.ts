import type { Labels } from '../../tsdb/types.js';
import type { QueryValue } from '../../promql/types.js';

/**
 * JSON encoding of query results in the shapes of Prometheus's HTTP API.
 * Results can hold millions of points, so the body is written as one string
 * rather than built as objects and handed to JSON.stringify.
 */

/** A float the way Go's strconv.FormatFloat(v, 'f', -1, 64) writes it: shortest, never exponent. */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const neg = s.startsWith('-');
  const mantissa = s.slice(neg ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const intLen = (dot < 0 ? mantissa.length : dot) + exp;
  let out: string;
  if (intLen <= 0) out = '0.' + '0'.repeat(-intLen) + digits;
  else if (intLen >= digits.length) out = digits + '0'.repeat(intLen - digits.length);
  else out = digits.slice(0, intLen) + '.' + digits.slice(intLen);
  return (neg ? '-' : '') + out;
}

/** Unix ms as the API's float seconds (ms precision). */
export function formatTimestamp(ms: number): string {
  return String(ms / 1000);
}

function point(t: number, v: number): string {
  return `[${formatTimestamp(t)},"${formatFloat(v)}"]`;
}

function labelsJson(labels: Labels): string {
  return JSON.stringify(labels);
}

/** The `data` object of a query response. */
export function queryDataJson(value: QueryValue): string {
  switch (value.resultType) {
    case 'scalar':
      return `{"resultType":"scalar","result":${point(value.t, value.v)}}`;
    case 'string':
      return `{"resultType":"string","result":[${formatTimestamp(value.t)},${JSON.stringify(value.v)}]}`;
    case 'vector': {
      const parts: string[] = [];
      for (const s of value.result) parts.push(`{"metric":${labelsJson(s.labels)},"value":${point(s.t, s.v)}}`);
      return `{"resultType":"vector","result":[${parts.join(',')}]}`;
    }
    case 'matrix': {
      const parts: string[] = [];
      for (const s of value.result) {
        const pts = new Array<string>(s.t.length);
        for (let i = 0; i < s.t.length; i++) pts[i] = point(s.t[i], s.v[i]);
        parts.push(`{"metric":${labelsJson(s.labels)},"values":[${pts.join(',')}]}`);
      }
      return `{"resultType":"matrix","result":[${parts.join(',')}]}`;
    }
  }
}

/** A success envelope around an already-encoded `data` value. */
export function successJson(dataJson: string, warnings: readonly string[] = [], infos: readonly string[] = []): string {
  let out = `{"status":"success","data":${dataJson}`;
  if (warnings.length) out += `,"warnings":${JSON.stringify(warnings)}`;
  if (infos.length) out += `,"infos":${JSON.stringify(infos)}`;
  return out + '}';
}
