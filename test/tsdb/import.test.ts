import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { importOpenMetrics, run } from '../../src/cli/tsdb-import.js';
import { openTsdb } from '../../src/tsdb/index.js';
import { requireBinary } from '../helpers/services.js';

const root = mkdtempSync(join(tmpdir(), 'vigil-tsdb-import-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `d${n++}`);
const DAY = 24 * 3600_000;

/** Backfill text in the shape promtool accepts: each series repeated once per timestamp, seconds, # EOF. */
function backfill(): string {
  const out: string[] = [];
  const t0 = 1_700_000_000;
  out.push('# HELP http_requests_total Requests.', '# TYPE http_requests_total counter');
  for (const status of ['200', '500']) for (let k = 0; k < 50; k++) out.push(`http_requests_total{endpoint="/a \\"q\\" \\\\ b",status="${status}"} ${k * 3 + (status === '500' ? 1 : 0)} ${t0 + k * 15}`);
  out.push('# TYPE http_request_duration_seconds histogram');
  for (let k = 0; k < 50; k++) {
    for (const le of ['0.1', '1', '+Inf']) out.push(`http_request_duration_seconds_bucket{le="${le}"} ${k * (le === '0.1' ? 1 : 2)} ${t0 + k * 15}`);
    out.push(`http_request_duration_seconds_sum ${(k * 0.37).toFixed(2)} ${t0 + k * 15}`, `http_request_duration_seconds_count ${k * 2} ${t0 + k * 15}`);
  }
  out.push('# TYPE temp gauge');
  for (let k = 0; k < 50; k++) out.push(`temp ${k % 7 === 0 ? 'NaN' : k % 11 === 0 ? '+Inf' : (20 + k / 8).toString()} ${t0 + k * 15}.250`);
  out.push('# EOF');
  return out.join('\n') + '\n';
}

function canon(labels: Record<string, string>): string {
  return '{' + Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(', ') + '}';
}

function num(s: string): number {
  return s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s);
}

describe('vigil tsdb import', () => {
  it('imports the same samples promtool create-blocks-from openmetrics does', async () => {
    const file = join(root, 'backfill.om');
    writeFileSync(file, backfill());
    const db = await openTsdb({ dir: fresh(), retentionMs: 365 * DAY });
    const r = await importOpenMetrics(db, backfill());
    expect(r.rejected).toBe(0);
    expect(r.samples).toBe(100 + 250 + 50);
    const ours: string[] = [];
    for (const s of db.querier().select([], 0, Number.MAX_SAFE_INTEGER)) {
      for (let i = 0; i < s.t.length; i++) ours.push(`${canon(s.labels)} ${s.v[i]} ${s.t[i]}`);
    }
    await db.close();

    const promtool = requireBinary('promtool', 'prometheus');
    if (!promtool) return;
    const out = join(root, 'prom');
    execFileSync(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', file, out], { stdio: 'ignore' });
    mkdirSync(join(out, 'wal'), { recursive: true });
    const dump = execFileSync(promtool, ['tsdb', 'dump', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const theirs = dump
      .trim()
      .split('\n')
      .map((line) => {
        const m = /^(\{.*\}) (\S+) (\d+)$/.exec(line)!;
        return `${m[1]} ${num(m[2])} ${m[3]}`;
      });
    expect(ours.sort()).toEqual(theirs.sort());
  });

  it('reports malformed, timestamp-less and hostile input with line numbers', async () => {
    const db = await openTsdb({ dir: fresh(), retentionMs: DAY });
    const bad = async (text: string) => importOpenMetrics(db, text).then(() => 'no error', (e: Error) => e.message);
    expect(await bad('# TYPE a gauge\na 1 1700000000\na 2 17x\n# EOF\n')).toBe('line 3: invalid timestamp "17x" (OpenMetrics: seconds)');
    expect(await bad('a 1\n# EOF\n')).toMatch(/^line 1: sample has no timestamp/);
    expect(await bad('a 1 1700000000\n')).toMatch(/^line 2: missing "# EOF"/);
    expect(await bad('a 1 1\n# EOF\nb 2 2\n')).toMatch(/^line 3: content after "# EOF"/);
    expect(await bad('\u0000\u0001\u0002garbage\n# EOF\n')).toMatch(/^line 1: /);
    expect(await bad(`a{x="${'y'.repeat(2_000_000)}"} 1 1\n# EOF\n`)).toMatch(/^line 1: line too long/);
    expect(await bad('a{x="1} 1 1\n# EOF\n')).toMatch(/^line 1: /);
    // out-of-order samples are rejected one by one, with their line, the rest imported
    const r = await importOpenMetrics(db, 'a 1 100\na 2 200\n# EOF\n');
    expect(r.samples).toBe(2);
    const again = await importOpenMetrics(db, 'a 5 150\na 3 300\n# EOF\n');
    expect(again.rejected).toBe(1);
    expect(again.problems[0]).toMatch(/^line 1: out of order sample/);
    await db.close();
  });

  it('runs as a command: exit codes and messages', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const dir = fresh();
      const good = join(root, 'good.om');
      writeFileSync(good, 'm{a="1"} 1 1700000000\nm{a="1"} 2 1700000015\n# EOF\n');
      expect(await run([good, '--data', dir])).toBe(0);
      expect(log.mock.calls.join('\n')).toMatch(/imported 2 samples of 1 new series/);
      const badFile = join(root, 'bad.om');
      writeFileSync(badFile, 'm 1 1700000000\nm 1 nope\n# EOF\n');
      expect(await run([badFile, '--data', dir])).toBe(1);
      expect(err.mock.calls.join('\n')).toContain(`${badFile}:2: invalid timestamp`);
      expect(await run([join(root, 'missing.om'), '--data', dir])).toBe(1);
      expect(err.mock.calls.join('\n')).toMatch(/missing\.om: no such file/);
      expect(await run([])).toBe(2);
      expect(await run([good, '--data', dir, '--retention', 'soon'])).toBe(2);
      const db = await openTsdb({ dir, retentionMs: DAY });
      expect(db.querier().select([], 0, Number.MAX_SAFE_INTEGER)[0].t.length).toBe(2);
      await db.close();
    } finally {
      err.mockRestore();
      log.mockRestore();
    }
  });
});

describe('vigil tsdb import, streamed', () => {
  it('gives the same samples whatever the piece size and time window span', async () => {
    const { importSource, textSource } = await import('../../src/cli/tsdb-import.js');
    const text = backfill();
    const dump = async (pieceChars: number, windowMs: number) => {
      const db = await openTsdb({ dir: fresh(), retentionMs: 365 * DAY });
      const r = await importSource(db, textSource(text, pieceChars), undefined, windowMs);
      const out: string[] = [];
      for (const s of db.querier().select([], 0, Number.MAX_SAFE_INTEGER)) for (let i = 0; i < s.t.length; i++) out.push(`${canon(s.labels)} ${s.v[i]} ${s.t[i]}`);
      await db.close();
      return { r, out: out.sort() };
    };
    const whole = await dump(1 << 20, 1e13);
    for (const [piece, win] of [
      [97, 1e13],
      [1 << 20, 1000],
      [53, 60_000],
    ]) {
      const other = await dump(piece, win);
      expect(other.out).toEqual(whole.out);
      expect(other.r.samples).toBe(whole.r.samples);
    }
    // Errors keep the input's line numbers across pieces.
    const bad = Array.from({ length: 50 }, (_, i) => `a ${i} ${1_700_000_000 + i}\n`).join('') + 'a 2 nope\n# EOF\n';
    const db = await openTsdb({ dir: fresh(), retentionMs: DAY });
    await expect(importSource(db, textSource(bad, 64))).rejects.toThrow(/^line 51: invalid timestamp/);
    await expect(importSource(db, textSource('a 1 1\n# EOF\nb 2 2\n', 4))).rejects.toThrow(/^line 3: content after "# EOF"/);
    await expect(importSource(db, textSource('a 1 1\nb 2 2\n', 4))).rejects.toThrow(/^line 3: missing "# EOF"/);
    await db.close();
  });
});
