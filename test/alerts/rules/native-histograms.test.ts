/**
 * A recording rule whose result is a native histogram stores histogram
 * samples (embedded store, real engine), readable by later queries.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, expect, it } from 'vitest';
import { createRuleManager } from '../../../src/alerts/rules/index.js';
import { silentLogger } from '../../../src/logger.js';
import type { FloatHistogram } from '../../../src/model/histogram.js';
import { createEngine } from '../../../src/promql/index.js';
import { openTsdb } from '../../../src/tsdb/index.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-rules-nh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hist = (n: number): FloatHistogram => ({
  schema: 0,
  counterResetHint: 'unknown',
  zeroThreshold: 0.001,
  zeroCount: 0,
  count: 3 * n,
  sum: n,
  positive: { idx: [0, 1], cnt: [n, 2 * n] },
  negative: { idx: [], cnt: [] },
});

it('records native histogram results as histogram samples', async () => {
  const db = await openTsdb({ dir: join(dir, 'data'), retentionMs: 24 * 3600_000, checkpointIntervalMs: 0 });
  const app = db.appender();
  app.appendHistogram!({ __name__: 'rpc_seconds', instance: 'a' }, 0, hist(1));
  app.appendHistogram!({ __name__: 'rpc_seconds', instance: 'b' }, 0, hist(2));
  await app.commit();
  const file = join(dir, 'rules.yml');
  writeFileSync(file, 'groups:\n- name: g\n  rules:\n  - record: job:rpc_seconds:sum\n    expr: sum(rpc_seconds)\n');
  const engine = createEngine(db);
  const manager = createRuleManager({
    files: [file],
    baseDir: dir,
    engine,
    storage: db,
    sink: { send: async () => {} },
    registry: new Registry(),
    logger: silentLogger(),
    evaluationIntervalMs: 15_000,
    externalLabels: {},
    externalUrl: 'http://vigil:9470',
    now: () => 15_000,
  });
  expect((await manager.reload()).ok).toBe(true);
  await manager.evaluateAll(15_000);
  const [s] = db.querier().select([{ type: '=', name: '__name__', value: 'job:rpc_seconds:sum' }], 0, 1e6);
  expect(s.h?.[0]).toMatchObject({ count: 9, sum: 3, positive: { idx: [0, 1], cnt: [3, 6] } });
  const r = await engine.instantQuery('histogram_count(job:rpc_seconds:sum)', 20_000);
  expect(r.value.resultType === 'vector' && r.value.result[0].v).toBe(9);
  await manager.stop();
  await db.close();
});
