/**
 * /api/v1/status/config (secrets shown as <secret>) and /api/v1/status/tsdb
 * (cardinality statistics of the head, Prometheus's shape).
 */
import type { FastifyPluginAsync } from 'fastify';
import { stringify } from 'yaml';
import type { Labels, Storage } from '../tsdb/types.js';

export interface StatusSources {
  /** The running configuration as loaded (redacted here before it is shown). */
  config(): unknown;
  /** Retention as configured, e.g. "15d". */
  retention: string;
  /** The command-line flags Vigil was started with (status/flags). */
  flags(): Record<string, string>;
}

/** Field names that hold credentials or URLs that embed them (webhook paths, DSNs). */
const SECRET_KEY = /(token|password|secret|credentials|api_key|apikey|authorization|dsn|webhook_url|api_url|database_url|admin_url|redis_url|routing_key|service_key)$/i;

/** A deep copy with secrets replaced by `<secret>`, as Prometheus shows its Secret fields. */
export function redactConfig(v: unknown, key = ''): unknown {
  if (typeof v === 'string') {
    if (SECRET_KEY.test(key)) return '<secret>';
    // userinfo in any URL (redis://:pw@host, postgres://u:pw@host)
    return v.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1<secret>@');
  }
  if (Array.isArray(v)) return v.map((x) => redactConfig(x, key));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = x !== undefined && SECRET_KEY.test(k) && typeof x !== 'object' ? '<secret>' : redactConfig(x, k);
    return out;
  }
  return v;
}

const TOP = 10;

function top(counts: Map<string, number>): Array<{ name: string; value: number }> {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, TOP)
    .map(([name, value]) => ({ name, value }));
}

/** Cardinality statistics over the given series (Prometheus's /api/v1/status/tsdb data). */
export function tsdbStats(series: Labels[], head: { minTime: number; maxTime: number; chunks: number }) {
  const byMetric = new Map<string, number>();
  const valuesByName = new Map<string, Set<string>>();
  const bytesByName = new Map<string, number>();
  const byPair = new Map<string, number>();
  let pairs = 0;
  for (const l of series) {
    for (const [k, v] of Object.entries(l)) {
      if (k === '__name__') byMetric.set(v, (byMetric.get(v) ?? 0) + 1);
      let set = valuesByName.get(k);
      if (!set) valuesByName.set(k, (set = new Set()));
      if (!set.has(v)) {
        set.add(v);
        bytesByName.set(k, (bytesByName.get(k) ?? 0) + v.length);
      }
      const pair = `${k}=${v}`;
      const n = byPair.get(pair) ?? 0;
      if (n === 0) pairs++;
      byPair.set(pair, n + 1);
    }
  }
  const valueCounts = new Map([...valuesByName].map(([k, s]) => [k, s.size]));
  return {
    headStats: { numSeries: series.length, numLabelPairs: pairs, chunkCount: head.chunks, minTime: head.minTime, maxTime: head.maxTime },
    seriesCountByMetricName: top(byMetric),
    labelValueCountByLabelName: top(valueCounts),
    memoryInBytesByLabelName: top(bytesByName),
    seriesCountByLabelValuePair: top(byPair),
  };
}

export function statusRoutes(src: StatusSources, storage: Pick<Storage, 'querier' | 'stats'>): FastifyPluginAsync {
  return async (app) => {
    const h = (fn: () => unknown) => async () => ({ status: 'success', data: fn() });
    const configYaml = () => ({ yaml: stringify(redactConfig(src.config()), { lineWidth: 0 }) });
    app.get('/api/v1/status/config', h(configYaml));
    app.post('/api/v1/status/config', h(configYaml));
    const tsdb = () => {
      const s = storage.stats();
      const series = storage.querier().series([{ type: '=~', name: '__name__', value: '.+' }], s.minTime, s.maxTime);
      return tsdbStats(series, { minTime: s.minTime, maxTime: s.maxTime, chunks: 0 });
    };
    app.get('/api/v1/status/tsdb', h(tsdb));
    app.post('/api/v1/status/tsdb', h(tsdb));
  };
}
