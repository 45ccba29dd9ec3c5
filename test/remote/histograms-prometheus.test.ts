/**
 * Native histograms remote-written into the real Prometheus 2.42 (with its
 * native-histograms feature): histogram_count, histogram_sum and the counts of
 * a rate answer there as over Vigil's own store, and a histogram series'
 * staleness marker ends the series there too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteWriteSchema } from '../../src/config/remote.js';
import { silentLogger } from '../../src/logger.js';
import type { FloatHistogram } from '../../src/model/histogram.js';
import { createEngine } from '../../src/promql/index.js';
import { RemoteWriteMetrics } from '../../src/remote/metrics.js';
import { WriteQueue } from '../../src/remote/queue.js';
import { openTsdb, type Tsdb } from '../../src/tsdb/index.js';
import { freePort, waitFor } from '../helpers/net.js';
import { requireBinary } from '../helpers/services.js';
import { prometheusReceiver, type Engine } from './engines.js';

const promBin = requireBinary('prometheus');
let dir: string;
let prom: Engine;
let db: Tsdb;

beforeAll(async () => {
  if (!promBin) return;
  dir = mkdtempSync(join(tmpdir(), 'vigil-rw-nh-'));
  prom = prometheusReceiver(promBin, join(dir, 'prom'), await freePort(), undefined, ['--enable-feature=native-histograms']);
  await prom.start();
  db = await openTsdb({ dir: join(dir, 'vigil'), retentionMs: 24 * 3600_000, checkpointIntervalMs: 0 });
}, 60_000);

afterAll(async () => {
  await db?.close();
  await prom?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** A latency histogram as a Go client's counter: integer counts growing each step. */
function latency(step: number): FloatHistogram {
  return {
    schema: 2,
    counterResetHint: 'unknown',
    zeroThreshold: 2.938735877055719e-39,
    zeroCount: step,
    count: 1 + 12 * step,
    sum: 0.75 * step + 0.125,
    positive: { idx: [-12, -11, -8, -3, 0], cnt: [1 + 2 * step, 3 * step, 2 * step, 3 * step, step] },
    negative: { idx: [], cnt: [] },
  };
}

describe.skipIf(!promBin)('native histograms remote-written into Prometheus 2.42', () => {
  it('answer histogram_count, histogram_sum and rate there as over Vigil\u2019s store', async () => {
    const config = remoteWriteSchema.parse({ url: prom.writeUrl, send_native_histograms: true, queue_config: { batch_send_deadline: '50ms', min_backoff: '10ms', max_samples_per_send: 7 } });
    const q = new WriteQueue({ config, walDir: db.walDir, stateDir: join(dir, 'remote'), metrics: new RemoteWriteMetrics(new Registry()), logger: silentLogger(), externalLabels: {}, pollIntervalMs: 20, store: db });
    await q.start();
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 120_000;
    const gauge = (i: number): FloatHistogram => ({ ...latency(i), counterResetHint: 'gauge', count: 2.5 + i, zeroCount: 0.5, positive: { idx: [1], cnt: [2 + i] } });
    for (let i = 0; i < 20; i++) {
      const app = db.appender();
      const t = t0 + i * 5000;
      app.appendHistogram!({ __name__: 'rw_latency_seconds', job: 'api' }, t, latency(i));
      app.appendHistogram!({ __name__: 'rw_queue_depth', job: 'api' }, t, gauge(i));
      app.append({ __name__: 'rw_up', job: 'api' }, t, 1);
      await app.commit();
    }
    const end = t0 + 19 * 5000;
    const app = db.appender();
    app.appendStale({ __name__: 'rw_latency_seconds', job: 'api' }, end + 5000);
    await app.commit();

    const engine = createEngine(db);
    const promValue = async (expr: string, at: number): Promise<number[]> => {
      const r = await fetch(`${prom.url}/api/v1/query?${new URLSearchParams({ query: expr, time: String(at / 1000) })}`);
      const body = (await r.json()) as { status: string; error?: string; data: { result: Array<{ value: [number, string] }> } };
      if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
      return body.data.result.map((s) => Number(s.value[1]));
    };
    const ours = async (expr: string, at: number): Promise<number[]> => {
      const r = await engine.instantQuery(expr, at);
      if (r.value.resultType !== 'vector') throw new Error('expected a vector');
      return r.value.result.map((s) => s.v);
    };
    // Everything has arrived once the last histogram and the last gauge histogram answer there.
    const last = async (expr: string) => {
      const [theirs] = await promValue(expr, end);
      return theirs === (await ours(expr, end))[0] ? true : undefined;
    };
    await waitFor(async () => ((await last('histogram_count(rw_latency_seconds)')) && (await last('histogram_count(rw_queue_depth)')) ? true : undefined), 30_000, 200);
    const exprs = [
      'histogram_count(rw_latency_seconds)',
      'histogram_sum(rw_latency_seconds)',
      'histogram_count(rate(rw_latency_seconds[1m]))',
      'histogram_sum(rate(rw_latency_seconds[1m]))',
      'histogram_count(rw_queue_depth)',
      'histogram_sum(rw_queue_depth)',
    ];
    for (const at of [t0 + 60_000, end]) {
      for (const expr of exprs) {
        const mine = await ours(expr, at);
        expect(mine, expr).toHaveLength(1);
        const theirs = await promValue(expr, at);
        expect(theirs, `${expr} from Prometheus`).toHaveLength(1);
        expect(theirs[0], expr).toBeCloseTo(mine[0], 9);
      }
    }
    // The marker ended the series in both: nothing right after it.
    expect(await ours('histogram_count(rw_latency_seconds)', end + 6000)).toEqual([]);
    expect(await promValue('histogram_count(rw_latency_seconds)', end + 6000)).toEqual([]);
    await q.stop();
  }, 60_000);
});
