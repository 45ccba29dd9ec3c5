import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openTsdb, SampleError, type Tsdb } from '../../src/tsdb/index.js';
import { chunkSlabs } from '../../src/tsdb/byte-slabs.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import type { Matcher, SeriesData } from '../../src/tsdb/types.js';
import { silentLogger } from '../../src/logger.js';
import { labelsHash } from '../../src/model/labels.js';

const root = mkdtempSync(join(tmpdir(), 'vigil-tsdb-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `db${n++}`);
const DAY = 24 * 3600_000;
const ALL: Matcher[] = [{ type: '=~', name: '__name__', value: '.+' }];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function norm(list: SeriesData[]) {
  return list
    .map((s) => ({ labels: JSON.stringify(Object.fromEntries(Object.entries(s.labels).sort())), t: Array.from(s.t), v: Array.from(s.v, (x) => (Number.isNaN(x) ? 'NaN' : x)), stale: s.stale ? Array.from(s.stale) : undefined }))
    .sort((a, b) => (a.labels < b.labels ? -1 : 1));
}

/** Records log lines so tests can check that damage is reported. */
function captureLogger() {
  const lines: Array<{ level: string; msg: string; obj: unknown }> = [];
  const logger = silentLogger();
  for (const level of ['warn', 'error', 'info'] as const) {
    (logger as unknown as Record<string, unknown>)[level] = (obj: unknown, msg: string) => lines.push({ level, msg, obj });
  }
  return { logger, lines };
}

async function fill(db: Tsdb, mem: MemoryStorage | undefined, seed: number, commits: number, t0 = 1_000_000) {
  const r = rng(seed);
  const names = ['http_requests_total', 'up', 'process_cpu_seconds_total'];
  const last = new Map<string, number>();
  for (let c = 0; c < commits; c++) {
    const app = db.appender();
    const t = t0 + c * 15_000 + Math.floor(r() * 3);
    for (let k = 0; k < 30; k++) {
      const labels = { __name__: names[k % 3], job: k % 2 ? 'api' : 'db', instance: `i${Math.floor(r() * 6)}` };
      const key = JSON.stringify(labels);
      if ((last.get(key) ?? -1) >= t) continue;
      last.set(key, t);
      if (r() < 0.05) {
        app.appendStale(labels, t);
        mem?.add(labels, t, NaN, true);
      } else {
        const v = r() < 0.5 ? Math.round(r() * 1000) : r() < 0.5 ? Math.round(r() * 1e4) / 100 : r() * 1e9;
        app.append(labels, t, v);
        mem?.add(labels, t, v);
      }
    }
    await app.commit();
  }
}

const MATCHER_SETS: Matcher[][] = [
  ALL,
  [{ type: '=', name: '__name__', value: 'up' }],
  [{ type: '=', name: 'job', value: 'api' }, { type: '=~', name: 'instance', value: 'i[0-2]' }],
  [{ type: '!=', name: 'job', value: 'api' }],
  [{ type: '!~', name: '__name__', value: 'up|http.*' }],
  [{ type: '=', name: 'nope', value: '' }, { type: '=', name: 'job', value: 'db' }],
  [{ type: '=', name: 'job', value: 'missing' }],
];

describe('tsdb', () => {
  it('answers like the reference MemoryStorage (randomized, across restarts)', async () => {
    const dir = freshDir();
    const mem = new MemoryStorage();
    let db = await openTsdb({ dir, retentionMs: 365 * DAY, chunkSize: 32 });
    await fill(db, mem, 1, 150);
    const check = () => {
      for (const m of MATCHER_SETS) {
        for (const [mint, maxt] of [
          [0, Number.MAX_SAFE_INTEGER],
          [1_500_000, 2_000_000],
          [1_000_000, 1_000_000],
          [3_000_000, 2_000_000],
        ]) {
          expect(norm(db.querier().select(m, mint, maxt))).toEqual(norm(mem.querier().select(m, mint, maxt)));
          expect(db.querier().series(m, mint, maxt).length).toBe(mem.querier().series(m, mint, maxt).length);
          expect(db.querier().labelNames(m, mint, maxt)).toEqual(mem.querier().labelNames(m, mint, maxt));
          expect(db.querier().labelValues('instance', m, mint, maxt)).toEqual(mem.querier().labelValues('instance', m, mint, maxt));
        }
      }
      expect(db.stats().samples).toBe(mem.stats().samples);
    };
    check();
    db.checkpoint();
    await fill(db, mem, 2, 60, 1_000_000 + 150 * 15_000);
    check();
    await db.close();
    db = await openTsdb({ dir, retentionMs: 365 * DAY, chunkSize: 32 });
    check();
    await fill(db, mem, 3, 40, 1_000_000 + 210 * 15_000);
    check();
    await db.close();
  });

  it('rejects out-of-order and duplicate samples per sample, accepts an identical repeat', async () => {
    const db = await openTsdb({ dir: freshDir(), retentionMs: DAY });
    const l = { __name__: 'x' };
    const app = db.appender();
    app.append(l, 1000, 1);
    app.append(l, 1000, 1); // identical: accepted, no new sample
    expect(() => app.append(l, 1000, 2)).toThrow(SampleError);
    expect(() => app.append(l, 999, 2)).toThrow(/out of order/);
    app.append({ __name__: 'y' }, 5, 1); // other series unaffected
    await app.commit();
    const app2 = db.appender();
    expect(() => app2.append(l, 500, 1)).toThrow(expect.objectContaining({ code: 'out_of_order' }));
    expect(() => app2.append(l, 1000, 3)).toThrow(expect.objectContaining({ code: 'duplicate' }));
    expect(() => app2.append(l, 1.5, 3)).toThrow(expect.objectContaining({ code: 'invalid' }));
    expect(() => app2.append(l, NaN, 3)).toThrow(expect.objectContaining({ code: 'invalid' }));
    expect(() => app2.append({}, 2000, 3)).toThrow(/without labels/);
    expect(() => app2.append({ a: '' }, 2000, 3)).toThrow(/without labels/);
    app2.append(l, 2000, 3);
    await app2.commit();
    const [s] = db.querier().select([{ type: '=', name: '__name__', value: 'x' }], 0, 10_000);
    expect(Array.from(s.t)).toEqual([1000, 2000]);
    await db.close();
  });

  it('drops samples that lose a race between two appenders instead of failing the commit', async () => {
    const db = await openTsdb({ dir: freshDir(), retentionMs: DAY });
    const a = db.appender();
    const b = db.appender();
    a.append({ __name__: 'r' }, 10, 1);
    b.append({ __name__: 'r' }, 20, 2);
    await b.commit();
    await a.commit();
    const [s] = db.querier().select([], 0, 100);
    expect(Array.from(s.t)).toEqual([20]);
    await db.close();
  });

  it('strips empty label values like Prometheus', async () => {
    const db = await openTsdb({ dir: freshDir(), retentionMs: DAY });
    const app = db.appender();
    app.append({ __name__: 'e', a: '' }, 1, 1);
    app.append({ __name__: 'e' }, 2, 2);
    await app.commit();
    const res = db.querier().select([{ type: '=', name: '__name__', value: 'e' }], 0, 10);
    expect(res).toHaveLength(1);
    expect(res[0].labels).toEqual({ __name__: 'e' });
    await db.close();
  });

  it('keeps series whose labels hash alike apart, before and after a restart', async () => {
    // The series index finds series by labelsHash; these two values collide under it.
    const a = { __name__: 'c', pod: 'pod-479599' };
    const b = { __name__: 'c', pod: 'pod-662382' };
    expect(labelsHash(a)).toBe(labelsHash(b));
    const dir = freshDir();
    let db = await openTsdb({ dir, retentionMs: DAY });
    for (let k = 0; k < 3; k++) {
      const app = db.appender();
      app.append({ ...a }, 1000 * (k + 1), k);
      app.append(Object.freeze({ ...b }), 1000 * (k + 1), 10 + k);
      await app.commit();
    }
    const check = () => {
      const res = norm(db.querier().select([{ type: '=', name: '__name__', value: 'c' }], 0, 10_000));
      expect(res.map((s) => [s.labels, s.v])).toEqual([
        [JSON.stringify(a), [0, 1, 2]],
        [JSON.stringify(b), [10, 11, 12]],
      ]);
      expect(db.seriesCount()).toBe(2);
    };
    check();
    await db.close();
    db = await openTsdb({ dir, retentionMs: DAY });
    check();
    await db.close();
  });

  it('deletes data older than the retention, in memory, blocks and after restart', async () => {
    const dir = freshDir();
    let db = await openTsdb({ dir, retentionMs: 3600_000, chunkSize: 10, compactionMinBlocks: 100 });
    for (let h = 0; h < 6; h++) {
      const app = db.appender();
      for (let i = 0; i < 40; i++) app.append({ __name__: 'old', k: String(h) }, h * 3600_000 + i * 60_000, i);
      app.append({ __name__: 'keep' }, h * 3600_000, h);
      await app.commit();
      db.checkpoint();
    }
    const names = () => db.querier().labelValues('k', [], 0, Number.MAX_SAFE_INTEGER);
    expect(names()).toEqual(['4', '5']);
    // Retention works per chunk (as Prometheus works per block): a chunk reaching into the window stays whole.
    expect(db.querier().select([{ type: '=', name: '__name__', value: 'keep' }], 0, 1e12)[0].t.length).toBeGreaterThanOrEqual(2);
    expect(readdirSync(join(dir, 'blocks')).length).toBeLessThan(6);
    await db.close();
    db = await openTsdb({ dir, retentionMs: 3600_000 });
    expect(names()).toEqual(['4', '5']);
    await db.close();
  });

  it('appends through a reused label object: frozen ones by identity, mutated ones by content, series revived after retention', async () => {
    const db = await openTsdb({ dir: freshDir(), retentionMs: 3600_000, chunkSize: 2, compactionMinBlocks: 100 });
    const frozen = Object.freeze({ __name__: 'f', a: '1' });
    const mutable: Record<string, string> = { __name__: 'm', a: '1' };
    for (let i = 0; i < 3; i++) {
      const app = db.appender();
      app.append(frozen, i * 1000, i);
      app.append(mutable, i * 1000, i);
      // Same object, other content: must land in another series.
      mutable.a = '2';
      app.append(mutable, i * 1000, 10 + i);
      mutable.a = '1';
      await app.commit();
    }
    // A rolled-back first append must not leave the object tied to an unregistered series.
    const lone = Object.freeze({ __name__: 'r' });
    let app = db.appender();
    app.append(lone, 0, 1);
    app.rollback();
    app = db.appender();
    app.append(lone, 1, 2);
    await app.commit();
    const q = (m: Matcher[]) => norm(db.querier().select(m, 0, Number.MAX_SAFE_INTEGER));
    expect(q([{ type: '=', name: '__name__', value: 'f' }])[0].v).toEqual([0, 1, 2]);
    expect(q([{ type: '=', name: '__name__', value: 'm' }]).map((s) => s.v)).toEqual([
      [0, 1, 2],
      [10, 11, 12],
    ]);
    expect(q([{ type: '=', name: '__name__', value: 'r' }])).toEqual([{ labels: '{"__name__":"r"}', t: [1], v: [2], stale: undefined }]);
    // Retention removes the series; the same frozen object then creates it again.
    app = db.appender();
    app.append({ __name__: 'clock' }, 10 * 3600_000, 0);
    await app.commit();
    db.checkpoint();
    expect(q([{ type: '=', name: '__name__', value: 'f' }])).toEqual([]);
    app = db.appender();
    app.append(frozen, 10 * 3600_000 + 1, 42);
    await app.commit();
    expect(q([{ type: '=', name: '__name__', value: 'f' }])[0].v).toEqual([42]);
    expect(db.querier().series([{ type: '=', name: '__name__', value: 'f' }], 0, Number.MAX_SAFE_INTEGER)).toHaveLength(1);
    await db.close();
  });

  it('appends to a series handle while the store has it, by labels otherwise (pending, other labels, removed by retention)', async () => {
    const db = await openTsdb({ dir: freshDir(), retentionMs: 3600_000, chunkSize: 2, compactionMinBlocks: 100 });
    const q = (name: string) => norm(db.querier().select([{ type: '=', name: '__name__', value: name }], 0, Number.MAX_SAFE_INTEGER));
    let app = db.appender();
    // A series new in this appender has no handle until the commit makes it the store's.
    expect(app.appendTo!(undefined, Object.freeze({ __name__: 'h' }), 0, 0)).toBeUndefined();
    await app.commit();
    const stored = db.storedLabels!(Object.freeze({ __name__: 'h' }))!;
    app = db.appender();
    const handle = app.appendTo!(undefined, stored, 1000, 1);
    expect(handle).toBeDefined();
    await app.commit();
    app = db.appender();
    expect(app.appendTo!(handle, stored, 2000, 2)).toBe(handle);
    // A handle given with other labels is not trusted: the sample goes to the labels' series.
    app.appendTo!(handle, Object.freeze({ __name__: 'other' }), 2000, 7);
    await expect(async () => app.appendTo!(handle, stored, 1500, 9)).rejects.toThrow(SampleError);
    await app.commit();
    expect(q('h')[0].v).toEqual([0, 1, 2]);
    expect(q('other')[0].v).toEqual([7]);
    // Retention removes the series: its handle is passed over and the series created again.
    app = db.appender();
    app.append({ __name__: 'clock' }, 10 * 3600_000, 0);
    await app.commit();
    db.checkpoint();
    expect(q('h')).toEqual([]);
    app = db.appender();
    expect(app.appendTo!(handle, stored, 10 * 3600_000 + 1, 42)).toBeUndefined();
    await app.commit();
    expect(q('h')[0].v).toEqual([42]);
    await db.close();
  });

  it('merges small blocks and keeps the data', async () => {
    const dir = freshDir();
    const db = await openTsdb({ dir, retentionMs: 100 * DAY, chunkSize: 4, compactionMinBlocks: 3 });
    const mem = new MemoryStorage();
    for (let c = 0; c < 12; c++) {
      const app = db.appender();
      for (let i = 0; i < 5; i++) {
        app.append({ __name__: 'm', c: String(i) }, c * 5 * 1000 + i * 1000, c);
        mem.add({ __name__: 'm', c: String(i) }, c * 5 * 1000 + i * 1000, c);
      }
      await app.commit();
      if (c % 2) db.checkpoint();
    }
    expect(db.blockCount()).toBeLessThan(4);
    await db.close();
    const again = await openTsdb({ dir, retentionMs: 100 * DAY });
    expect(norm(again.querier().select(ALL, 0, 1e9))).toEqual(norm(mem.querier().select(ALL, 0, 1e9)));
    await again.close();
  });

  it('reports and skips a torn WAL tail, a bad checksum and garbage files, never failing to open', async () => {
    const dir = freshDir();
    let db = await openTsdb({ dir, retentionMs: DAY, checkpointIntervalMs: 0 });
    for (let i = 0; i < 10; i++) {
      const app = db.appender();
      app.append({ __name__: 'w' }, i * 1000, i);
      await app.commit();
    }
    // Simulate a crash: copy the WAL aside before close() checkpoints it away.
    const walDir = join(dir, 'wal');
    const seg = readdirSync(walDir).sort().pop()!;
    const walBytes = readFileSync(join(walDir, seg));
    await db.close();
    rmSync(join(dir, 'blocks'), { recursive: true });
    rmSync(walDir, { recursive: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(walDir);
    // torn tail: cut the last record in half
    writeFileSync(join(walDir, seg), walBytes.subarray(0, walBytes.length - 5));
    const cap = captureLogger();
    const reg = new Registry();
    db = await openTsdb({ dir, retentionMs: DAY, logger: cap.logger, registry: reg });
    const [s] = db.querier().select([], 0, 1e9);
    expect(Array.from(s.v)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(cap.lines.some((l) => l.level === 'warn' && /torn/.test(l.msg))).toBe(true);
    expect(await reg.getSingleMetricAsString('vigil_tsdb_wal_corruptions_total')).toMatch(/ 1$/m);
    await db.close();

    // garbage block file, flipped byte in the WAL snapshot, zero-filled tail
    writeFileSync(join(dir, 'blocks', '00000099.vtb'), 'this is not a block');
    const walSeg = join(walDir, readdirSync(walDir).sort().pop()!);
    const data = readFileSync(walSeg);
    data[data.length - 3] ^= 0xff;
    writeFileSync(walSeg, data);
    appendFileSync(walSeg, Buffer.alloc(64));
    const cap2 = captureLogger();
    db = await openTsdb({ dir, retentionMs: DAY, logger: cap2.logger });
    expect(cap2.lines.some((l) => l.level === 'error' && /block/.test(l.msg))).toBe(true);
    expect(cap2.lines.some((l) => /WAL/.test(l.msg))).toBe(true);
    expect(readdirSync(join(dir, 'blocks'))).toContain('00000099.vtb.corrupt');
    // still usable
    const app = db.appender();
    app.append({ __name__: 'w' }, 100_000, 1);
    await app.commit();
    await db.close();
  });

  it('loads the intact part of a truncated block file and re-persists it', async () => {
    const dir = freshDir();
    let db = await openTsdb({ dir, retentionMs: DAY, chunkSize: 5 });
    const app = db.appender();
    for (let s = 0; s < 20; s++) for (let i = 0; i < 12; i++) app.append({ __name__: 'b', s: String(s) }, i * 1000, i);
    await app.commit();
    await db.close();
    const blk = join(dir, 'blocks', readdirSync(join(dir, 'blocks')).find((f) => f.endsWith('.vtb'))!);
    const size = readFileSync(blk).length;
    truncateSync(blk, Math.floor(size * 0.6));
    const cap = captureLogger();
    db = await openTsdb({ dir, retentionMs: DAY, logger: cap.logger });
    expect(cap.lines.some((l) => l.level === 'error' && /damaged block/.test(l.msg))).toBe(true);
    const got = db.querier().select([], 0, 1e9);
    expect(got.length).toBeGreaterThan(5);
    const before = got.reduce((a, s) => a + s.t.length, 0);
    await db.close();
    db = await openTsdb({ dir, retentionMs: DAY });
    expect(db.querier().select([], 0, 1e9).reduce((a, s) => a + s.t.length, 0)).toBe(before);
    await db.close();
  });

  it('locks the data directory against a second writer', async () => {
    const dir = freshDir();
    const db = await openTsdb({ dir, retentionMs: DAY });
    await expect(openTsdb({ dir, retentionMs: DAY })).rejects.toThrow(/already open/);
    await db.close();
    const db2 = await openTsdb({ dir, retentionMs: DAY });
    await db2.close();
  });

  it('checkpoints right after most series cut their chunks at once, writing a block whose index spans many pieces', async () => {
    const dir = freshDir();
    const db = await openTsdb({ dir, retentionMs: 365 * DAY, chunkSize: 4, checkpointIntervalMs: 3600_000 });
    const series = 12_000;
    // Long label values: the series index (about 1.6 MB) passes the 1 MiB spill and read pieces.
    const pad = 'x'.repeat(100);
    const labels = Array.from({ length: series }, (_, i) => Object.freeze({ __name__: 'm', i: String(i), pad }));
    const mem = new MemoryStorage();
    try {
      for (let c = 0; c < 5; c++) {
        const app = db.appender();
        for (let i = 0; i < series; i++) {
          app.append(labels[i], 1_000_000 + c * 15_000, i + c);
          mem.add(labels[i], 1_000_000 + c * 15_000, i + c);
        }
        await app.commit();
        await new Promise((r) => setImmediate(r));
        // The fifth sample cuts every 4-sample chunk: the checkpoint follows the commit.
        expect(db.blockCount()).toBe(c === 4 ? 1 : 0);
      }
      expect(readdirSync(join(dir, 'blocks')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      expect(norm(db.querier().select(ALL, 0, 1e9))).toEqual(norm(mem.querier().select(ALL, 0, 1e9)));
    } finally {
      await db.close();
    }
    const again = await openTsdb({ dir, retentionMs: 365 * DAY });
    expect(norm(again.querier().select(ALL, 0, 1e9))).toEqual(norm(mem.querier().select(ALL, 0, 1e9)));
    await again.close();
  });

  it('moves open chunks out of slab space that chunks growing in step left idle, losing no sample', async () => {
    const dir = freshDir();
    const db = await openTsdb({ dir, retentionMs: 365 * DAY });
    const restarts = vi.spyOn(chunkSlabs, 'restart');
    const series = 20_000;
    const value = (i: number, c: number) => ((i * 2654435761 + c * 40503) % 1e9) / 7;
    try {
      for (let c = 0; c < 40; c++) {
        const app = db.appender();
        for (let i = 0; i < series; i++) app.append({ __name__: 'm', i: String(i) }, 1_000_000 + c * 15_000, value(i, c));
        await app.commit();
      }
      expect(restarts).toHaveBeenCalled();
      const got = db.querier().select(ALL, 0, Number.MAX_SAFE_INTEGER);
      expect(got.length).toBe(series);
      let wrong = 0;
      for (const s of got) {
        const i = Number(s.labels.i);
        if (s.v.length !== 40 || s.v.some((v, c) => v !== value(i, c))) wrong++;
      }
      expect(wrong).toBe(0);
    } finally {
      restarts.mockRestore();
      await db.close();
    }
  });

  it('exposes self metrics on the given registry and removes them on close', async () => {
    const reg = new Registry();
    const db = await openTsdb({ dir: freshDir(), retentionMs: DAY, registry: reg });
    const app = db.appender();
    app.append({ __name__: 'a' }, 1, 1);
    app.append({ __name__: 'b' }, 1, 1);
    await app.commit();
    expect(() => db.appender().append({ __name__: 'a' }, 0, 1)).toThrow();
    const text = await reg.metrics();
    expect(text).toMatch(/^vigil_tsdb_head_series 2$/m);
    expect(text).toMatch(/^vigil_tsdb_head_samples_appended_total 2$/m);
    expect(text).toMatch(/^vigil_tsdb_head_chunks 2$/m);
    expect(text).toMatch(/^vigil_tsdb_samples_rejected_total\{reason="out_of_order"\} 1$/m);
    expect(text).toMatch(/^vigil_tsdb_wal_storage_size_bytes [1-9]/m);
    expect(text).toMatch(/^vigil_tsdb_storage_blocks_bytes 0$/m);
    expect(text).toMatch(/^vigil_tsdb_wal_corruptions_total 0$/m);
    await db.close();
    expect(await reg.metrics()).not.toMatch(/vigil_tsdb_/);
  });
});
