import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/promql/index.js';
import { openTsdb, type Tsdb } from '../../src/tsdb/index.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import { Windows } from '../../src/tsdb/query.js';
import { generateDataset } from '../helpers/prometheus.js';
import { DOCUMENTED_RULES, GENERATED_EXPRESSIONS } from '../promql/differential-cases.js';

const START = 1_699_999_200_000 + 3_000;
const SAMPLES = 480;
const END = START + (SAMPLES - 1) * 15_000;
/** Steps wider than the ranges and lookback: the store reads their windows only. */
const RANGES = [
  { start: START + 10 * 60_000 + 7_500, end: END, step: 17 * 60_000 },
  { start: START + 4_000, end: END + 2 * 60_000, step: 3600_000 / 4 },
];

describe('select hints: range queries over the store read only the windows their steps need', () => {
  const root = mkdtempSync(join(tmpdir(), 'vigil-hints-'));
  let db: Tsdb;
  const mem = new MemoryStorage();

  beforeAll(async () => {
    // Small chunks and blocks, so a query meets block chunks, closed and open head chunks.
    db = await openTsdb({ dir: root, retentionMs: 3650 * 86400_000, chunkSize: 12, blockWindowMs: 3600_000, compactionMinBlocks: 100 });
    const data = generateDataset({ start: START, samples: SAMPLES, instances: 3, seed: 11 });
    const samples = data.flatMap((s) => s.t.map((t, i) => ({ labels: s.labels, t, v: s.v[i] }))).sort((a, b) => a.t - b.t);
    const app = db.appender();
    const half = START + (SAMPLES / 2) * 15_000;
    let checkpointed = false;
    for (const x of samples) {
      if (!checkpointed && x.t >= half) {
        checkpointed = true;
        await app.commit();
        db.checkpoint();
      }
      app.append(x.labels, x.t, x.v);
      mem.add(x.labels, x.t, x.v);
    }
    await app.commit();
  }, 60_000);

  afterAll(async () => {
    await db?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('answers every differential expression as the reference store does', async () => {
    const onStore = createEngine(db);
    const onRef = createEngine(mem);
    let compared = 0;
    for (const expr of [...DOCUMENTED_RULES, ...GENERATED_EXPRESSIONS]) {
      for (const r of RANGES) {
        const got = await onStore.rangeQuery(expr, r.start, r.end, r.step).catch((e: Error) => e.message);
        const want = await onRef.rangeQuery(expr, r.start, r.end, r.step).catch((e: Error) => e.message);
        expect(got, `${expr} step ${r.step}`).toEqual(want);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(400);
  }, 120_000);

  it('windows: a chunk meets a window when any of its times lies in one', () => {
    const w = new Windows(1000, { step: 100, range: 10 });
    const inWindow = (t: number) => t >= 1000 && (t - 1000) % 100 < 10;
    for (let a = 900; a < 1400; a += 3) {
      for (let b = a; b < a + 130; b += 7) {
        let want = false;
        for (let t = a; t <= b; t++) want ||= inWindow(t);
        expect(w.overlaps(a, b), `${a}..${b}`).toBe(want);
      }
    }
  });
});
