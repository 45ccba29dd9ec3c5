import type { ForStateSource } from '../alerts/rules/group.js';
import type { QueryEngine } from '../promql/types.js';

/**
 * Reads ALERTS_FOR_STATE back through a query engine (the external backend,
 * which holds what remote write sent before a restart): a range selector at
 * `maxt` answers the raw samples, of which the last one per series counts.
 * Backends drop staleness markers from raw samples, so a series whose last
 * sample is older than the newest one of its alert ended before the restart
 * and is reported stale.
 */
export function engineForStateSource(engine: QueryEngine): ForStateSource {
  return async (alertname, mint, maxt) => {
    const windowS = Math.max(1, Math.ceil((maxt - mint) / 1000));
    const r = await engine.instantQuery(`ALERTS_FOR_STATE{alertname=${JSON.stringify(alertname)}}[${windowS}s]`, maxt);
    if (r.value.resultType !== 'matrix') throw new Error(`ALERTS_FOR_STATE read answered a ${r.value.resultType}, not raw samples`);
    const series = r.value.result.filter((s) => s.t.length > 0);
    let newest = -Infinity;
    for (const s of series) newest = Math.max(newest, s.t[s.t.length - 1]);
    return series.map((s) => {
      const n = s.t.length - 1;
      return { labels: s.labels, lastT: s.t[n], lastV: s.v[n], stale: s.t[n] < newest };
    });
  };
}
