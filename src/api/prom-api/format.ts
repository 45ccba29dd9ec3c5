import type { Labels } from '../../tsdb/types.js';
import type { QueryValue } from '../../promql/types.js';
import { formatFloat } from '../../model/strconv.js';
import type { FloatHistogram } from '../../model/histogram.js';
import { histogramJson } from './histogram.js';

/**
 * JSON encoding of query results in the shapes of Prometheus's HTTP API.
 * Results can hold millions of points, so the body is written as one string
 * rather than built as objects and handed to JSON.stringify.
 */

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
      for (const s of value.result) {
        const sample = s.h ? `"histogram":[${formatTimestamp(s.t)},${histogramJson(s.h)}]` : `"value":${point(s.t, s.v)}`;
        parts.push(`{"metric":${labelsJson(s.labels)},${sample}}`);
      }
      return `{"resultType":"vector","result":[${parts.join(',')}]}`;
    }
    case 'matrix': {
      const parts: string[] = [];
      for (const s of value.result) {
        if (s.h) {
          parts.push(`{"metric":${labelsJson(s.labels)},${mixedPoints(s.t, s.v, s.h)}}`);
          continue;
        }
        const pts = new Array<string>(s.t.length);
        for (let i = 0; i < s.t.length; i++) pts[i] = point(s.t[i], s.v[i]);
        parts.push(`{"metric":${labelsJson(s.labels)},"values":[${pts.join(',')}]}`);
      }
      return `{"resultType":"matrix","result":[${parts.join(',')}]}`;
    }
  }
}

/** A series holding native histograms: floats under "values", histograms under "histograms", each only when present. */
function mixedPoints(t: number[], v: number[], h: ReadonlyArray<FloatHistogram | undefined>): string {
  const floats: string[] = [];
  const hists: string[] = [];
  for (let i = 0; i < t.length; i++) {
    const hi = h[i];
    if (hi) hists.push(`[${formatTimestamp(t[i])},${histogramJson(hi)}]`);
    else floats.push(point(t[i], v[i]));
  }
  const out: string[] = [];
  if (floats.length) out.push(`"values":[${floats.join(',')}]`);
  if (hists.length) out.push(`"histograms":[${hists.join(',')}]`);
  return out.join(',');
}

/** A success envelope around an already-encoded `data` value. */
export function successJson(dataJson: string, warnings: readonly string[] = [], infos: readonly string[] = []): string {
  let out = `{"status":"success","data":${dataJson}`;
  if (warnings.length) out += `,"warnings":${JSON.stringify(warnings)}`;
  if (infos.length) out += `,"infos":${JSON.stringify(infos)}`;
  return out + '}';
}
