import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openTsdb, WalReader, type WalPosition, type WalRecord } from '../../src/tsdb/index.js';

const root = mkdtempSync(join(tmpdir(), 'vigil-wal-reader-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `d${n++}`);
const DAY = 24 * 3600_000;

/** Follows the WAL like a remote-write shipper: ref -> labels map, samples resolved through it. */
function follow(reader: WalReader, from: WalPosition) {
  const labels = new Map<number, string>();
  const got: string[] = [];
  const res = reader.read(from);
  for (const r of res.records as WalRecord[]) {
    if (r.type === 'series') labels.set(r.ref, r.labels.__name__ + (r.labels.k ?? ''));
    else if (r.type === 'samples') for (const s of r.samples) got.push(`${labels.get(s.ref)}@${s.t}=${s.stale ? 'stale' : s.v}`);
  }
  return { got, res };
}

describe('WAL reader', () => {
  it('reads a record longer than one read whole, and every record after it', async () => {
    const db = await openTsdb({ dir: fresh(), retentionMs: DAY, checkpointIntervalMs: 0 });
    const reader = new WalReader(db.walDir);
    const start = reader.end();
    // About 200 kB of samples in one commit: one record, past the reader's 64 kB minimum read.
    const app = db.appender();
    for (let i = 0; i < 20_000; i++) app.append({ __name__: 'big', k: String(i) }, 1000, i);
    await app.commit();
    const app2 = db.appender();
    app2.append({ __name__: 'after' }, 2000, 7);
    await app2.commit();
    let samples = 0;
    let last = '';
    let pos = start;
    for (;;) {
      // A budget smaller than the record: it is read in two steps, its start only once.
      const r = reader.read(pos, 1000);
      expect(r.damage).toEqual([]);
      for (const rec of r.records) {
        if (rec.type !== 'samples') continue;
        samples += rec.samples.length;
        last = `${rec.samples.at(-1)?.t}=${rec.samples.at(-1)?.v}`;
      }
      if (r.next.segment === pos.segment && r.next.offset === pos.offset) break;
      pos = r.next;
    }
    expect(samples).toBe(20_001);
    expect(last).toBe('2000=7');
    await db.close();
  });

  it('returns series and samples in order, waits at a torn tail, and survives checkpoints while held', async () => {
    const db = await openTsdb({ dir: fresh(), retentionMs: DAY, checkpointIntervalMs: 0, chunkSize: 4 });
    const reader = new WalReader(db.walDir);
    const start = reader.end();
    db.holdWal('test', start.segment);
    let wakes = 0;
    const stop = db.onWalWrite(() => wakes++);
    const app = db.appender();
    app.append({ __name__: 'a', k: '1' }, 1000, 1);
    app.append({ __name__: 'b' }, 1000, 2);
    await app.commit();
    const app2 = db.appender();
    app2.append({ __name__: 'a', k: '1' }, 2000, 3);
    app2.appendStale({ __name__: 'b' }, 2000);
    await app2.commit();
    expect(wakes).toBe(2);
    let { got, res } = follow(reader, start);
    expect(got).toEqual(['a1@1000=1', 'b@1000=2', 'a1@2000=3', 'b@2000=stale']);
    expect(res.damage).toEqual([]);
    const pos = res.next;
    // A checkpoint starts a new segment; the held one stays, and reading goes on into the new one.
    db.checkpoint();
    const app3 = db.appender();
    app3.append({ __name__: 'a', k: '1' }, 3000, 4);
    await app3.commit();
    ({ got, res } = follow(reader, pos));
    expect(got).toEqual(['a1@3000=4']);
    expect(res.records.some((r) => r.type === 'snapshot')).toBe(true);
    expect(res.next.segment).toBeGreaterThan(pos.segment);
    // Released: the next checkpoint deletes the old segments, a stale position moves on and says so.
    db.releaseWal('test');
    db.checkpoint();
    expect(reader.segments()).toHaveLength(1);
    ({ res } = follow(reader, pos));
    expect(res.missing.length).toBeGreaterThan(0);
    stop();
    // A half-written record at the end of the newest segment is left for later, not reported.
    const end = reader.end();
    await db.close();
    const db2 = await openTsdb({ dir: join(db.dir), retentionMs: DAY, checkpointIntervalMs: 0 });
    const app4 = db2.appender();
    app4.append({ __name__: 'c' }, 5000, 5);
    await app4.commit();
    const newest = join(db2.walDir, reader.segments().pop()!.name);
    const full = readFileSync(newest);
    writeFileSync(newest, full.subarray(0, full.length - 3));
    const tail = reader.end();
    const torn = reader.read({ segment: tail.segment, offset: 0 });
    expect(torn.damage).toEqual([]);
    const cut = torn.next;
    appendFileSync(newest, full.subarray(full.length - 3));
    ({ got } = follow(reader, cut));
    expect(got.join()).toMatch(/@5000=5/);
    expect(end.segment).toBeLessThan(tail.segment);
    await db2.close();
  });

  it('skips a damaged record in an older segment and reports it', async () => {
    const db = await openTsdb({ dir: fresh(), retentionMs: DAY, checkpointIntervalMs: 0 });
    const reader = new WalReader(db.walDir);
    const start = reader.end();
    db.holdWal('t', start.segment);
    for (let i = 0; i < 3; i++) {
      const app = db.appender();
      app.append({ __name__: 'x' }, i * 1000, i);
      await app.commit();
    }
    db.checkpoint();
    const seg = join(db.walDir, reader.segments()[0].name);
    const data = readFileSync(seg);
    data[data.length - 2] ^= 0x55; // inside the last sample record's value
    writeFileSync(seg, data);
    const { got, res } = follow(reader, start);
    expect(got).toEqual(['x@0=0', 'x@1000=1']);
    expect(res.damage).toHaveLength(1);
    expect(res.damage[0].reason).toMatch(/checksum/);
    await db.close();
  });
});
