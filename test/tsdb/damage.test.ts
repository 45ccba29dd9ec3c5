import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { BlockReader } from '../../src/tsdb/block/format.js';
import { checkDataDir } from '../../src/tsdb/check.js';
import { openTsdb } from '../../src/tsdb/index.js';
import { readFrame, RecordType } from '../../src/tsdb/records.js';
import { ByteReader } from '../../src/tsdb/bytes.js';
import { readSamplesRecord, readSeriesRecord } from '../../src/tsdb/wal/records.js';

const root = mkdtempSync(join(tmpdir(), 'vigil-tsdb-damage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `d${n++}`);
const DAY = 24 * 3600_000;
const SERIES = 200;
const STEPS = 600;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** `count` distinct positions in [lo, hi). */
function positions(r: () => number, lo: number, hi: number, count: number): number[] {
  const set = new Set<number>();
  while (set.size < count) set.add(lo + Math.floor(r() * (hi - lo)));
  return [...set].sort((a, b) => a - b);
}

function flip(file: string, at: number[], r: () => number): void {
  const data = readFileSync(file);
  for (const p of at) data[p] ^= 1 + Math.floor(r() * 255);
  writeFileSync(file, data);
}

async function build(dir: string): Promise<number> {
  const db = await openTsdb({ dir, retentionMs: 365 * DAY, chunkSize: 30, checkpointIntervalMs: 0 });
  for (let c = 0; c < STEPS; c++) {
    const app = db.appender();
    for (let s = 0; s < SERIES; s++) app.append({ __name__: 'dmg', s: String(s) }, c * 10_000, c * 3 + s);
    await app.commit();
  }
  await db.close();
  return SERIES * STEPS;
}

/** Opens the damaged store: samples it serves, and its self metrics text. */
async function surviving(dir: string): Promise<{ total: number; metrics: string }> {
  const reg = new Registry();
  const db = await openTsdb({ dir, retentionMs: 365 * DAY, registry: reg, logger: silentLogger() });
  try {
    let total = 0;
    for (const s of db.querier().select([{ type: '=', name: '__name__', value: 'dmg' }], 0, Number.MAX_SAFE_INTEGER)) {
      for (let i = 1; i < s.t.length; i++) expect(s.t[i]).toBeGreaterThan(s.t[i - 1]);
      total += s.t.length;
    }
    // Still serving and accepting writes.
    const app = db.appender();
    app.append({ __name__: 'after' }, STEPS * 10_000, 1);
    await app.commit();
    return { total, metrics: await reg.metrics() };
  } finally {
    await db.close();
  }
}

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)![1]);

describe('tsdb damage', () => {
  it('64 flipped bytes in a block cost exactly the chunks they hit', async () => {
    const dir = fresh();
    const total = await build(dir);
    const file = join(dir, 'blocks', readdirSync(join(dir, 'blocks')).find((f) => f.endsWith('.vtb'))!);
    const metas: Array<{ offset: number; length: number; count: number }> = [];
    const b = BlockReader.open(file, 1, () => {});
    for (let i = 0; i < b.summary.series; i++) metas.push(...b.metas(i)!);
    const dataStart = Math.min(...metas.map((m) => m.offset));
    const dataEnd = b.indexStart;
    b.close();
    const r = rng(7);
    const at = positions(r, dataStart, dataEnd, 64);
    const hit = metas.filter((m) => at.some((p) => p >= m.offset && p < m.offset + m.length));
    expect(hit.length).toBeGreaterThan(0);
    flip(file, at, r);

    const report = checkDataDir(dir);
    expect(report.blocks[0].indexProblem).toBeUndefined();
    expect(report.blocks[0].damagedChunks.map((c) => c.offset).sort((x, y) => x - y)).toEqual(hit.map((m) => m.offset).sort((x, y) => x - y));
    expect(report.damage).toBe(hit.length);

    const lost = hit.reduce((a, m) => a + m.count, 0);
    const got = await surviving(dir);
    expect(got.total).toBe(total - lost);
    expect(metric(got.metrics, 'vigil_tsdb_chunk_corruptions_total')).toBe(hit.length);
  });

  it('a zeroed block index costs nothing: the chunks are recovered by a scan, the file set aside', async () => {
    const dir = fresh();
    const total = await build(dir);
    const name = readdirSync(join(dir, 'blocks')).find((f) => f.endsWith('.vtb'))!;
    const file = join(dir, 'blocks', name);
    const b = BlockReader.open(file, 1, () => {});
    const from = b.indexStart;
    b.close();
    const data = readFileSync(file);
    data.fill(0, from);
    writeFileSync(file, data);

    const report = checkDataDir(dir);
    expect(report.blocks[0].indexProblem).toMatch(/trailer/);
    expect(report.damage).toBe(1);
    const got = await surviving(dir);
    expect(got.total).toBe(total);
    expect(metric(got.metrics, 'vigil_tsdb_block_corruptions_total')).toBe(1);
    expect(readdirSync(join(dir, 'blocks'))).toContain(`${name}.corrupt`);
    const after = checkDataDir(dir);
    expect(after.damage).toBe(0);
    expect(after.setAside).toHaveLength(1);
  });

  it('64 flipped bytes in a WAL segment cost exactly the records they hit', async () => {
    const dir = fresh();
    const db = await openTsdb({ dir, retentionMs: 365 * DAY, checkpointIntervalMs: 0 });
    for (let c = 0; c < 300; c++) {
      const app = db.appender();
      for (let s = 0; s < 20; s++) app.append({ __name__: 'dmg', s: String(s) }, c * 10_000, c + s / 100);
      await app.commit();
    }
    // A crash: keep the WAL as it is before close() checkpoints it away.
    const saved = join(root, `wal-${n}`);
    cpSync(db.walDir, saved, { recursive: true });
    await db.close();
    rmSync(dir, { recursive: true });
    mkdirSync(dir);
    cpSync(saved, join(dir, 'wal'), { recursive: true });
    const seg = join(dir, 'wal', readdirSync(join(dir, 'wal')).sort().pop()!);
    const original = readFileSync(seg);

    // Expected survivors, from the undamaged bytes: intact sample records whose series' declaration is intact.
    const r = rng(11);
    const at = positions(r, 0, original.length, 64);
    const declared = new Set<number>();
    let expected = 0;
    let damagedRecords = 0;
    for (let off = 0; off < original.length; ) {
      const f = readFrame(original, off);
      if (!f.ok) throw new Error('test WAL unreadable');
      const damaged = at.some((p) => p >= off && p < f.next);
      if (damaged) damagedRecords++;
      const rd = new ByteReader(f.payload);
      rd.u8();
      if (f.type === RecordType.Series) {
        const { ref } = readSeriesRecord(rd);
        if (!damaged) declared.add(ref);
      } else if (f.type === RecordType.Samples && !damaged) {
        readSamplesRecord(rd, (ref) => {
          if (declared.has(ref)) expected++;
        });
      }
      off = f.next;
    }
    flip(seg, at, r);
    const report = checkDataDir(dir);
    expect(report.wal[0].damaged.length).toBeGreaterThan(0);
    expect(report.wal[0].damaged.length).toBeLessThanOrEqual(damagedRecords);
    const got = await surviving(dir);
    expect(got.total).toBe(expected);
    expect(metric(got.metrics, 'vigil_tsdb_wal_corruptions_total')).toBeGreaterThan(0);
  });
});
