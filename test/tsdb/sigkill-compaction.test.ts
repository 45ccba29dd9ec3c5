import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkDataDir } from '../../src/tsdb/check.js';
import { openTsdb } from '../../src/tsdb/index.js';
import { waitFor } from '../helpers/net.js';
import { childNodeArgs, vigilModule } from '../e2e/vigil-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-tsdb-kill-compact-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const blocksDir = join(dir, 'blocks');
const ROOT = join(import.meta.dirname, '../..');
/** The child's store: dist/ exactly when the CLI runs from it (the build is current), else the sources through tsx. */
const tsdbModule = vigilModule('tsdb/index');

/** Runs the appending child until a temporary block file appears (a block being written), then SIGKILLs it. */
async function killWhileWritingBlock(start: number): Promise<{ lastCommitted: number; tmpAtKill: boolean }> {
  const child = spawn(process.execPath, [...childNodeArgs, join(import.meta.dirname, 'fixtures/compact-loop.mjs'), dir, String(start), tsdbModule], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let lastCommitted = -1;
  let stderr = '';
  let buf = '';
  let tmpAtKill = false;
  let armed = false;
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      const m = /^committed (\d+)$/.exec(l);
      if (m) lastCommitted = Number(m[1]);
    }
    if (!armed && lastCommitted >= start + 60) armed = true;
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitFor(() => existsSync(blocksDir) || undefined, 30_000);
  let killedAt = -1;
  const watcher = watch(blocksDir, (_ev, name) => {
    if (!armed || killedAt >= 0 || !name || !name.endsWith('.tmp')) return;
    child.kill('SIGKILL');
    killedAt = lastCommitted;
    tmpAtKill = readdirSync(blocksDir).some((f) => f.endsWith('.tmp'));
  });
  try {
    await waitFor(() => killedAt >= 0 || undefined, 60_000).catch((err) => {
      throw new Error(`${(err as Error).message}; child stderr: ${stderr}`);
    });
    await exited;
  } finally {
    watcher.close();
    child.kill('SIGKILL');
  }
  return { lastCommitted: killedAt, tmpAtKill };
}

describe('tsdb SIGKILL while a block is being written or merged', () => {
  it('loses no committed sample and never reads a partial block', async () => {
    let start = 0;
    let sawTmp = 0;
    for (let round = 0; round < 4; round++) {
      const { lastCommitted, tmpAtKill } = await killWhileWritingBlock(start);
      if (tmpAtKill) sawTmp++;
      expect(checkDataDir(dir).damage).toBe(0);
      const db = await openTsdb({ dir, retentionMs: 365 * 24 * 3600_000, checkpointIntervalMs: 0 });
      try {
        expect(readdirSync(blocksDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
        const series = db.querier().select([{ type: '=', name: '__name__', value: 'kill_test' }], 0, Number.MAX_SAFE_INTEGER);
        expect(series).toHaveLength(300);
        for (const s of series) {
          const idx = Number(s.labels.s);
          // Everything up to the last reported commit, at most the one in flight after it, nothing twice.
          expect(s.t.length).toBeGreaterThanOrEqual(lastCommitted + 1);
          expect(s.t.length).toBeLessThanOrEqual(lastCommitted + 2);
          for (let i = 0; i < s.t.length; i++) {
            if (s.t[i] !== i * 1000 || s.v[i] !== i + idx / 1000) throw new Error(`series ${idx}: sample ${i} is ${s.t[i]}=${s.v[i]}`);
          }
        }
        start = series[0].t.length;
      } finally {
        await db.close();
      }
    }
    // The kill landed while a temporary block existed at least once.
    expect(sawTmp).toBeGreaterThan(0);
  }, 240_000);
});
