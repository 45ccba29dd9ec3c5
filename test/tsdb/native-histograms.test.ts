import { appendFileSync, cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FloatHistogram } from '../../src/model/histogram.js';
import { openTsdb, WalReader, type Tsdb } from '../../src/tsdb/index.js';
import type { Matcher, SeriesData } from '../../src/tsdb/types.js';
import { ByteWriter } from '../../src/tsdb/bytes.js';
import { beginRecord, endRecord, RecordType } from '../../src/tsdb/records.js';
import { writeSample } from '../../src/tsdb/wal/records.js';

const root = mkdtempSync(join(tmpdir(), 'vigil-tsdb-nh-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `db${n++}`);
const DAY = 24 * 3600_000;
const ALL: Matcher[] = [{ type: '=~', name: '__name__', value: '.+' }];
const HIST = { __name__: 'request_duration_seconds', job: 'api' };
const FLOAT = { __name__: 'requests_total', job: 'api' };

/** A growing latency histogram: counts go up by small integers, one scrape at a time. */
function histogramAt(i: number): FloatHistogram {
  const pos = [3 + i, 5 + 2 * i, i, 1];
  const neg = [i % 3];
  const count = pos.reduce((a, b) => a + b, 0) + neg[0] + i;
  return {
    schema: 3,
    counterResetHint: i === 0 ? 'reset' : 'not_reset',
    zeroThreshold: 2 ** -128,
    zeroCount: i,
    count,
    sum: 0.25 * i + 1.5,
    // The layout widens once, half way: a new bucket appears.
    positive: i < 40 ? { idx: [-3, -2, 0, 4], cnt: pos } : { idx: [-3, -2, 0, 4, 9], cnt: [...pos, 2] },
    negative: { idx: [1], cnt: neg },
  };
}

/** Samples of the histogram series (stale marker every 25th) and of a float series, every 15 s. */
async function fill(db: Tsdb, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const app = db.appender();
    const t = i * 15_000;
    if (i % 25 === 24) app.appendStale(HIST, t);
    else app.appendHistogram!(HIST, t, histogramAt(i));
    app.append(FLOAT, t, i * 2);
    await app.commit();
  }
}

function expected(from: number, to: number): Array<{ t: number; h?: FloatHistogram; stale: boolean }> {
  const out = [];
  for (let i = from; i < to; i++) out.push(i % 25 === 24 ? { t: i * 15_000, stale: true } : { t: i * 15_000, h: histogramAt(i), stale: false });
  return out;
}

function histSeries(list: SeriesData[]) {
  const s = list.find((x) => x.labels.__name__ === HIST.__name__)!;
  expect(s).toBeDefined();
  return Array.from(s.t, (t, i) => {
    const stale = s.stale?.[i] === 1;
    return stale ? { t, stale } : { t, h: s.h?.[i], stale };
  });
}

/** A copy of the data directory as a crash would leave it (before close() checkpoints). */
function crashCopy(dir: string): string {
  const crashed = freshDir();
  cpSync(dir, crashed, { recursive: true });
  rmSync(join(crashed, 'LOCK'), { force: true });
  return crashed;
}

function floatValues(list: SeriesData[]): number[] {
  return Array.from(list.find((x) => x.labels.__name__ === FLOAT.__name__)!.v);
}

describe('native histograms in the store', () => {
  it('keeps them in head chunks, blocks and merged blocks, beside float series', async () => {
    const dir = freshDir();
    const opts = { dir, retentionMs: 30 * DAY, checkpointIntervalMs: 0, chunkSize: 16, blockWindowMs: 600_000, compactionMinBlocks: 2 };
    let db = await openTsdb(opts);
    await fill(db, 0, 60);
    // Head: closed histogram chunks plus the open one.
    expect(histSeries(db.querier().select(ALL, 0, 1e9))).toEqual(expected(0, 60));
    db.checkpoint();
    expect(db.blockCount()).toBeGreaterThan(0);
    await fill(db, 60, 99);
    db.checkpoint();
    const all = db.querier().select(ALL, 0, 1e9);
    expect(histSeries(all)).toEqual(expected(0, 99));
    expect(floatValues(all)).toEqual(Array.from({ length: 99 }, (_, i) => i * 2));
    // A range inside chunks.
    expect(histSeries(db.querier().select(ALL, 20 * 15_000, 70 * 15_000))).toEqual(expected(20, 71));
    await db.close();

    // Reopened: blocks only; appending goes on after the stored histogram.
    db = await openTsdb(opts);
    expect(histSeries(db.querier().select(ALL, 0, 1e9))).toEqual(expected(0, 99));
    const app = db.appender();
    // The same histogram again at the last time is accepted as a repeat; a different one is refused.
    app.appendHistogram!(HIST, 98 * 15_000, histogramAt(98));
    expect(() => app.appendHistogram!(HIST, 98 * 15_000, histogramAt(97))).toThrow(/duplicate/);
    app.rollback();
    await fill(db, 99, 110);
    expect(histSeries(db.querier().select(ALL, 0, 1e9))).toEqual(expected(0, 110));
    await db.close();
  });

  it('replays them from the WAL after a crash, snapshot of the open chunk included', async () => {
    const dir = freshDir();
    const opts = { dir, retentionMs: 30 * DAY, checkpointIntervalMs: 0, chunkSize: 16 };
    const db = await openTsdb(opts);
    await fill(db, 0, 30);
    db.checkpoint(); // the next segment starts with a snapshot of the open chunks
    await fill(db, 30, 45);
    // Simulate a crash: keep the data directory as it is before close() checkpoints.
    const crashed = freshDir();
    cpSync(dir, crashed, { recursive: true });
    rmSync(join(crashed, 'LOCK'), { force: true });
    const reader = new WalReader(db.walDir);
    const { records } = reader.read(reader.start());
    const logged = records.flatMap((r) => (r.type === 'histograms' ? r.samples : []));
    expect(logged.length).toBeGreaterThan(0);
    expect(logged[logged.length - 1].h).toEqual(histogramAt(44));
    await db.close();

    const again = await openTsdb({ ...opts, dir: crashed });
    const all = again.querier().select(ALL, 0, 1e9);
    expect(histSeries(all)).toEqual(expected(0, 45));
    expect(floatValues(all)).toEqual(Array.from({ length: 45 }, (_, i) => i * 2));
    await again.close();
  });

  it('logs a histogram series\u2019 staleness marker as a histogram marker, and replays it as one', async () => {
    const dir = freshDir();
    const opts = { dir, retentionMs: DAY, checkpointIntervalMs: 0 };
    const db = await openTsdb(opts);
    await fill(db, 0, 25); // the last sample is a marker
    const reader = new WalReader(db.walDir);
    const { records } = reader.read(reader.start());
    expect(records.flatMap((r) => (r.type === 'samples' ? r.samples.filter((x) => x.stale) : []))).toEqual([]);
    const logged = records.flatMap((r) => (r.type === 'histograms' ? r.samples : []));
    expect(logged.filter((x) => x.h === 'stale').map((x) => x.t)).toEqual([24 * 15_000]);
    const before = db.querier().select(ALL, 0, 1e9);
    expect(histSeries(before)).toEqual(expected(0, 25));
    const crashed = crashCopy(dir);
    await db.close();

    const again = await openTsdb({ ...opts, dir: crashed });
    expect(again.querier().select(ALL, 0, 1e9)).toEqual(before);
    const s = [...again.index.byRef.values()].find((x) => x.labels.__name__ === HIST.__name__)!;
    expect(s.lastStale).toBe(true);
    // The marker is in the histogram chunk, after the histograms it ends.
    expect(s.hist!.count).toBe(25);
    // Still stale: the same marker again is a repeat, not a new sample.
    const app = again.appender();
    app.appendStale(HIST, 24 * 15_000);
    await app.commit();
    expect(histSeries(again.querier().select(ALL, 0, 1e9))).toEqual(expected(0, 25));
    await again.close();
  });

  it('replays the float marker older WALs log for a histogram series into its histogram chunk', async () => {
    const dir = freshDir();
    const opts = { dir, retentionMs: DAY, checkpointIntervalMs: 0 };
    const db = await openTsdb(opts);
    await fill(db, 0, 24);
    const ref = [...db.index.byRef.values()].find((x) => x.labels.__name__ === HIST.__name__)!.ref;
    const crashed = crashCopy(dir);
    await db.close();
    // The form older versions wrote: a float marker in a Samples record.
    const w = new ByteWriter(64);
    const rec = beginRecord(w, RecordType.Samples);
    w.uvarint(1);
    writeSample(w, ref, 24 * 15_000, NaN, true);
    endRecord(w, rec);
    const segments = readdirSync(join(crashed, 'wal')).filter((f) => /^\d+$/.test(f)).sort();
    appendFileSync(join(crashed, 'wal', segments[segments.length - 1]), w.result());

    const again = await openTsdb({ ...opts, dir: crashed });
    expect(histSeries(again.querier().select(ALL, 0, 1e9))).toEqual(expected(0, 25));
    const s = [...again.index.byRef.values()].find((x) => x.labels.__name__ === HIST.__name__)!;
    expect(s.lastStale).toBe(true);
    expect(s.hist!.count).toBe(25);
    await again.close();
  });

  it('knows a series ended in a block with a histogram after a restart (repeats, markers)', async () => {
    const dir = freshDir();
    const opts = { dir, retentionMs: 30 * DAY, checkpointIntervalMs: 0 };
    let db = await openTsdb(opts);
    await fill(db, 0, 10);
    // Another series two hours on makes the histogram chunk idle: the checkpoint writes it to a block.
    let app = db.appender();
    app.append({ __name__: 'later' }, 10 * 15_000 + 2 * 3600_000, 1);
    await app.commit();
    db.checkpoint();
    await db.close();
    db = await openTsdb(opts);
    app = db.appender();
    app.appendHistogram!(HIST, 9 * 15_000, histogramAt(9));
    expect(() => app.appendHistogram!(HIST, 9 * 15_000, histogramAt(8))).toThrow(/duplicate/);
    app.appendStale(HIST, 10 * 15_000);
    await app.commit();
    const s = db.querier().select([{ type: '=', name: '__name__', value: HIST.__name__ }], 0, 1e9)[0];
    expect(s.t.length).toBe(11);
    expect(s.stale?.[10]).toBe(1);
    // The marker went into a histogram chunk: the store's chunks for the series stay one kind at the end.
    expect([...db.index.byRef.values()].find((x) => x.labels.__name__ === HIST.__name__)!.hist!.count).toBe(1);
    await db.close();
  });

  it('cuts open histogram chunks by size, so histograms with many buckets keep little decoded in memory', async () => {
    const db = await openTsdb({ dir: freshDir(), retentionMs: DAY, checkpointIntervalMs: 0 });
    const wide = (i: number): FloatHistogram => {
      const idx = Array.from({ length: 400 }, (_, k) => k - 200);
      return { ...histogramAt(0), count: 400 * (i + 1), positive: { idx, cnt: idx.map(() => i + 1) }, negative: { idx: [], cnt: [] } };
    };
    for (let i = 0; i < 50; i++) {
      const app = db.appender();
      app.appendHistogram!(HIST, i * 1000, wide(i));
      await app.commit();
    }
    const series = [...db.index.byRef.values()][0];
    expect(series.hist!.count).toBeLessThan(10);
    const [s] = db.querier().select([], 0, 1e9);
    expect(s.h!.map((h) => h!.count)).toEqual(Array.from({ length: 50 }, (_, i) => 400 * (i + 1)));
    await db.close();
  });

  it('switches a series between float and histogram samples without overlapping chunks', async () => {
    const db = await openTsdb({ dir: freshDir(), retentionMs: DAY, checkpointIntervalMs: 0 });
    const labels = { __name__: 'mixed' };
    for (let i = 0; i < 6; i++) {
      const app = db.appender();
      if (i % 2) app.appendHistogram!(labels, i * 1000, histogramAt(i));
      else app.append(labels, i * 1000, i);
      await app.commit();
    }
    const check = (s: SeriesData) => {
      expect(Array.from(s.t)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
      for (let i = 0; i < 6; i++) {
        if (i % 2) expect(s.h?.[i]).toEqual(histogramAt(i));
        else {
          expect(s.v[i]).toBe(i);
          expect(s.h?.[i]).toBeUndefined();
        }
      }
    };
    check(db.querier().select([], 0, 1e9)[0]);
    db.checkpoint();
    check(db.querier().select([], 0, 1e9)[0]);
    await db.close();
  });
});
