import { openTsdb, type Tsdb } from '../src/tsdb/index.js';
import type { GenSeries } from '../test/helpers/prometheus.js';

/** Appends the data as scrapes would: one commit per timestamp across all series. */
export async function loadTsdb(dir: string, data: readonly GenSeries[]): Promise<Tsdb> {
  const db = await openTsdb({ dir, retentionMs: 30 * 24 * 3600_000, checkpointIntervalMs: 0, walFlushIntervalMs: 1000 });
  const times = [...new Set(data.flatMap((s) => s.t))].sort((a, b) => a - b);
  const next = new Int32Array(data.length);
  for (const t of times) {
    const app = db.appender();
    for (let i = 0; i < data.length; i++) {
      const s = data[i];
      if (s.t[next[i]] === t) app.append(s.labels, t, s.v[next[i]++]);
    }
    await app.commit();
  }
  return db;
}
