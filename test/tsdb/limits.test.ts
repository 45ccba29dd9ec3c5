import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { openTsdb, SampleError, WalReader } from '../../src/tsdb/index.js';

const root = mkdtempSync(join(tmpdir(), 'vigil-tsdb-limits-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `d${n++}`);
const DAY = 24 * 3600_000;
const HOUR = 3600_000;

describe('tsdb limits and modes', () => {
  it('refuses new series beyond max_series with a clear error and a metric, keeps accepting known ones', async () => {
    const reg = new Registry();
    const db = await openTsdb({ dir: fresh(), retentionMs: DAY, maxSeries: 3, registry: reg });
    const app = db.appender();
    for (let i = 0; i < 3; i++) app.append({ __name__: 'm', i: String(i) }, 1000, i);
    let err: unknown;
    try {
      app.append({ __name__: 'm', i: '3' }, 1000, 3);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SampleError);
    expect((err as SampleError).code).toBe('series_limit');
    expect((err as Error).message).toBe('series limit reached (storage.max_series = 3): new series m{i="3"} refused');
    await app.commit();
    const app2 = db.appender();
    app2.append({ __name__: 'm', i: '0' }, 2000, 5);
    await app2.commit();
    expect(await reg.metrics()).toMatch(/^vigil_tsdb_samples_rejected_total\{reason="series_limit"\} 1$/m);
    expect(db.stats().series).toBe(3);
    await db.close();
  });

  it('deletes the oldest blocks beyond retention_size', async () => {
    const dir = fresh();
    const db = await openTsdb({ dir, retentionMs: 365 * DAY, retentionBytes: 1, compactionMinBlocks: 100, checkpointIntervalMs: 0 });
    for (let h = 0; h < 6; h++) {
      const app = db.appender();
      for (let i = 0; i < 50; i++) for (let s = 0; s < 10; s++) app.append({ __name__: 'sz', s: String(s) }, h * 2 * HOUR + i * 60_000, i);
      await app.commit();
      db.checkpoint();
    }
    // Everything but the WAL is over a 1-byte budget: only blocks written after the last retention pass remain.
    expect(db.blockCount()).toBeLessThanOrEqual(1);
    const total = db.stats().samples;
    expect(total).toBeLessThan(6 * 500);
    await db.close();
    expect(readdirSync(join(dir, 'blocks')).filter((f) => f.endsWith('.vtb')).length).toBeLessThanOrEqual(2);
  });

  it('compacts in slices, giving the event loop back', async () => {
    const db = await openTsdb({ dir: fresh(), retentionMs: 365 * DAY, checkpointIntervalMs: 0, compactionMinBlocks: 100, compactionSliceMs: 0 });
    // Three 2 h windows of one 6 h window; it is complete (and merged) only once a later sample arrives.
    for (let h = 0; h < 3; h++) {
      const app = db.appender();
      for (let s = 0; s < 400; s++) for (let i = 0; i < 3; i++) app.append({ __name__: 'c', s: String(s) }, h * 2 * HOUR + i * 60_000, i);
      await app.commit();
      db.checkpoint();
    }
    expect(db.blockCount()).toBe(2);
    const app = db.appender();
    app.append({ __name__: 'c', s: '0' }, 20 * HOUR, 1);
    await app.commit();
    let ticks = 0;
    let done = false;
    const tick = () => {
      ticks++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    await db.backgroundCheckpoint();
    done = true;
    expect(db.blockCount()).toBe(1);
    expect(ticks).toBeGreaterThan(2);
    expect(db.querier().select([{ type: '=', name: '__name__', value: 'c' }], 0, 20 * HOUR)).toHaveLength(400);
    await db.close();
  });

  it('WAL-only mode keeps no samples and truncates the WAL once readers have passed it', async () => {
    const db = await openTsdb({ dir: fresh(), retentionMs: DAY, walOnly: true, checkpointIntervalMs: 0 });
    const reader = new WalReader(db.walDir);
    const pos = reader.end();
    db.holdWal('remote', pos.segment);
    for (let i = 0; i < 3; i++) {
      const app = db.appender();
      app.append({ __name__: 'a' }, i * 1000, i);
      await app.commit();
      db.checkpoint();
    }
    expect(db.querier().select([], 0, 1e9)).toEqual([]);
    expect(db.blockCount()).toBe(0);
    expect(() => db.appender().append({ __name__: 'a' }, 0, 1)).toThrow(/out of order/);
    const segs = reader.segments().length;
    expect(segs).toBeGreaterThanOrEqual(4);
    const got = reader.read(pos);
    const samples = got.records.flatMap((r) => (r.type === 'samples' ? r.samples.map((s) => s.t) : []));
    expect(samples).toEqual([0, 1000, 2000]);
    db.holdWal('remote', got.next.segment);
    db.checkpoint();
    expect(reader.segments().length).toBeLessThanOrEqual(2);
    db.releaseWal('remote');
    db.checkpoint();
    expect(reader.segments()).toHaveLength(1);
    await db.close();
  });
});
