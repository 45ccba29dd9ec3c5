import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seriesLabels, WalReader, type SampleView, type WalPosition, type WalSeries } from '../../src/remote/wal-reader.js';
import type { FloatHistogram } from '../../src/model/histogram.js';
import { openTsdb } from '../../src/tsdb/index.js';

const root = mkdtempSync(join(tmpdir(), 'vigil-rw-wal-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const DAY = 24 * 3600_000;

/** Reads to the end, naming each sample by its series' labels; `prepared` counts how often a series was derived. */
function readAll(reader: WalReader<{ name: string }>, from: WalPosition, derived: { n: number }) {
  const got: string[] = [];
  let pos = from;
  for (;;) {
    const r = reader.read(pos, {
      sample(s: WalSeries<{ name: string }>, { t, v, stale }: SampleView) {
        if (s.prepared === undefined) {
          derived.n++;
          const l = seriesLabels(s);
          s.prepared = { name: `${l.__name__}${l.k ?? ''}` };
        }
        got.push(`${s.prepared.name}@${t}=${stale ? 'stale' : v}`);
      },
      histogram(s: WalSeries<{ name: string }>, t: number, h: FloatHistogram | null) {
        if (s.prepared === undefined) {
          derived.n++;
          const l = seriesLabels(s);
          s.prepared = { name: `${l.__name__}${l.k ?? ''}` };
        }
        got.push(`${s.prepared.name}@${t}=${h === null ? 'stale histogram' : `histogram count ${h.count}`}`);
      },
    });
    expect(r.skipped).toBeUndefined();
    if (r.next.segment === pos.segment && r.next.offset === pos.offset) return { got, pos };
    pos = r.next;
  }
}

describe('remote-write WAL reader', () => {
  it('hands over native histograms, and a histogram series\u2019 staleness marker as a histogram one', async () => {
    const db = await openTsdb({ dir: join(root, 'nh'), retentionMs: DAY, checkpointIntervalMs: 0 });
    const reader = new WalReader<{ name: string }>(db.walDir);
    const start = reader.tail();
    const app = db.appender();
    app.append({ __name__: 'f' }, 1000, 1);
    const h = { schema: 0, counterResetHint: 'unknown' as const, zeroThreshold: 0, zeroCount: 0, count: 1, sum: 1, positive: { idx: [0], cnt: [1] }, negative: { idx: [], cnt: [] } };
    app.appendHistogram!({ __name__: 'h' }, 1000, h);
    await app.commit();
    const app2 = db.appender();
    app2.appendStale({ __name__: 'f' }, 2000);
    app2.appendStale({ __name__: 'h' }, 2000);
    await app2.commit();
    // readAll checks that nothing was reported skipped.
    expect(readAll(reader, start, { n: 0 }).got).toEqual(['f@1000=1', 'h@1000=histogram count 1', 'f@2000=stale', 'h@2000=stale histogram']);
    await db.close();
  });

  it('sends a histogram series\u2019 staleness marker as a histogram one after resuming mid-segment', async () => {
    const db = await openTsdb({ dir: join(root, 'nh-resume'), retentionMs: DAY, checkpointIntervalMs: 0 });
    const start = new WalReader<{ name: string }>(db.walDir).tail();
    const app = db.appender();
    const h = { schema: 0, counterResetHint: 'unknown' as const, zeroThreshold: 0, zeroCount: 0, count: 1, sum: 1, positive: { idx: [0], cnt: [1] }, negative: { idx: [], cnt: [] } };
    app.appendHistogram!({ __name__: 'h' }, 1000, h);
    await app.commit();
    // The position a previous run saved after sending the histogram sample.
    const saved = readAll(new WalReader<{ name: string }>(db.walDir), start, { n: 0 }).pos;
    expect(saved.offset).toBeGreaterThan(0);
    const app2 = db.appender();
    app2.appendStale({ __name__: 'h' }, 2000);
    await app2.commit();
    // A new reader, as after a restart, resumes from the saved position.
    expect(readAll(new WalReader<{ name: string }>(db.walDir), saved, { n: 0 }).got).toEqual(['h@2000=stale histogram']);
    await db.close();
  });

  for (const walOnly of [false, true]) {
    it(`sends a histogram series\u2019 staleness marker as a histogram one from a segment after its histograms${walOnly ? ' (WAL only)' : ''}`, async () => {
      const db = await openTsdb({ dir: join(root, `nh-next-${walOnly}`), retentionMs: DAY, checkpointIntervalMs: 0, walOnly });
      const app = db.appender();
      const h = { schema: 0, counterResetHint: 'unknown' as const, zeroThreshold: 0, zeroCount: 0, count: 1, sum: 1, positive: { idx: [0], cnt: [1] }, negative: { idx: [], cnt: [] } };
      app.appendHistogram!({ __name__: 'h' }, 1000, h);
      await app.commit();
      db.checkpoint(); // the histogram sample stays in the segment before
      const next = new WalReader<{ name: string }>(db.walDir).tail().segment;
      const app2 = db.appender();
      app2.appendStale({ __name__: 'h' }, 2000);
      await app2.commit();
      // No saved position: a reader starting at the segment's beginning never saw the histogram.
      expect(readAll(new WalReader<{ name: string }>(db.walDir), { segment: next, offset: 0 }, { n: 0 }).got).toEqual(['h@2000=stale histogram']);
      await db.close();
    });
  }

  it('derives each series once across segments, and anew when a restart renumbers refs', async () => {
    const dir = join(root, 'a');
    let db = await openTsdb({ dir, retentionMs: DAY, checkpointIntervalMs: 0, walOnly: true });
    const reader = new WalReader<{ name: string }>(db.walDir);
    const start = reader.tail();
    db.holdWal('test', start.segment);
    const write = async (t: number, names: string[]) => {
      const app = db.appender();
      for (const n of names) app.append({ __name__: n }, t, t / 1000);
      await app.commit();
    };
    await write(1000, ['a', 'b']);
    db.checkpoint(); // a new segment, which declares a and b again
    await write(2000, ['a', 'b']);
    const derived = { n: 0 };
    const first = readAll(reader, start, derived);
    expect(first.got).toEqual(['a@1000=1', 'b@1000=1', 'a@2000=2', 'b@2000=2']);
    expect(derived.n).toBe(2);
    await db.close();

    // After a restart the store numbers series anew: b now gets the ref a had.
    db = await openTsdb({ dir, retentionMs: DAY, checkpointIntervalMs: 0, walOnly: true });
    db.holdWal('test', start.segment);
    await write(3000, ['b', 'c']);
    const second = readAll(reader, first.pos, derived);
    expect(second.got).toEqual(['b@3000=3', 'c@3000=3']);
    expect(derived.n).toBe(4);
    await db.close();

    // A fresh reader resuming mid-segment learns the declarations before its position.
    const cold = readAll(new WalReader<{ name: string }>(db.walDir), first.pos, { n: 0 });
    expect(cold.got).toEqual(['b@3000=3', 'c@3000=3']);
  });
});
