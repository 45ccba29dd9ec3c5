import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run as analyze } from '../../src/cli/tsdb-analyze.js';
import { run as check } from '../../src/cli/tsdb-check.js';
import { run as dump } from '../../src/cli/tsdb-dump.js';
import { BlockReader } from '../../src/tsdb/block/format.js';
import { openTsdb } from '../../src/tsdb/index.js';

const root = mkdtempSync(join(tmpdir(), 'vigil-tsdb-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const DAY = 24 * 3600_000;

async function build(): Promise<string> {
  const dir = join(root, 'data');
  const db = await openTsdb({ dir, retentionMs: 365 * DAY, chunkSize: 20 });
  for (let c = 0; c < 100; c++) {
    const app = db.appender();
    for (let s = 0; s < 30; s++) app.append({ __name__: s < 20 ? 'req_total' : 'temp', job: `j${s % 3}`, s: String(s) }, c * 15_000, c * s);
    if (c === 99) app.appendStale({ __name__: 'temp', job: 'j2', s: '29' }, c * 15_000 + 1);
    await app.commit();
  }
  await db.close();
  return dir;
}

function capture() {
  const lines: string[] = [];
  const err = vi.spyOn(console, 'error').mockImplementation((s: string) => void lines.push(`E ${s}`));
  const log = vi.spyOn(console, 'log').mockImplementation((s: string) => void lines.push(s));
  return {
    lines,
    restore() {
      err.mockRestore();
      log.mockRestore();
    },
  };
}

describe('vigil tsdb check / analyze / dump', () => {
  it('dumps, analyzes and checks a data directory; reports damage and bad arguments', async () => {
    const dir = await build();
    let text = '';
    const out = { write: (s: string) => void (text += s), closed: () => false };
    expect(await dump([dir], out)).toBe(0);
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(30 * 100 + 1);
    expect(lines[0]).toBe('{__name__="req_total", job="j0", s="0"} 0 0');
    expect(text).toContain('{__name__="temp", job="j2", s="29"} stale 1485001');
    text = '';
    expect(await dump([dir, '--match', 'temp{job="j1"}', '--min-time', '1', '--max-time', '20'], out)).toBe(0);
    expect(text.trim().split('\n')).toEqual(['{__name__="temp", job="j1", s="22"} 22 15000', '{__name__="temp", job="j1", s="25"} 25 15000', '{__name__="temp", job="j1", s="28"} 28 15000']);

    const printed: string[] = [];
    expect(await analyze([dir, '--limit', '3'], (s) => printed.push(s))).toBe(0);
    expect(printed.join('\n')).toMatch(/Highest cardinality labels:\n {2}30 s\n {2}3 job\n {2}2 __name__/);
    expect(printed.join('\n')).toMatch(/Highest cardinality metric names:\n {2}20 req_total\n {2}10 temp/);

    const cap = capture();
    try {
      expect(await check([dir])).toBe(0);
      expect(cap.lines.at(-1)).toBe('no damage found');
      const file = join(dir, 'blocks', readdirSync(join(dir, 'blocks')).find((f) => f.endsWith('.vtb'))!);
      const b = BlockReader.open(file, 1, () => {});
      const [m] = b.metas(0)!;
      b.close();
      const data = readFileSync(file);
      data[m.offset + m.length - 2] ^= 0xff;
      writeFileSync(file, data);
      expect(await check([dir])).toBe(1);
      expect(cap.lines.join('\n')).toMatch(/DAMAGED 1 of \d+ chunks \(20 of \d+ samples\)/);
      expect(cap.lines.join('\n')).toMatch(/chunk at byte \d+ of req_total\{job="j0", s="0"\}: checksum mismatch/);
      // bad arguments and directories
      expect(await check([])).toBe(2);
      expect(await check([join(root, 'nope')])).toBe(1);
      expect(await dump([dir, '--match', 'temp{'], out)).toBe(2);
      expect(await dump([dir, '--min-time', 'yesterday'], out)).toBe(2);
      expect(await dump([join(root, 'nope')], out)).toBe(1);
      expect(await analyze([dir, '--limit', '-1'])).toBe(2);
      expect(cap.lines.join('\n')).toMatch(/not a Vigil data directory/);
    } finally {
      cap.restore();
    }
  });
});
