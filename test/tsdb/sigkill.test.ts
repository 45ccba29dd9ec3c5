import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openTsdb } from '../../src/tsdb/index.js';
import { waitFor } from '../helpers/net.js';
import { childNodeArgs, vigilModule } from '../e2e/vigil-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-tsdb-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tsdb after SIGKILL', () => {
  it('keeps every commit that resolved before the kill', async () => {
    const child = spawn(process.execPath, [...childNodeArgs, join(import.meta.dirname, 'fixtures/append-loop.mjs'), dir, vigilModule('tsdb/index')], {
      cwd: join(import.meta.dirname, '../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lastCommitted = -1;
    let stderr = '';
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        const m = /^committed (\d+)$/.exec(l);
        if (m) lastCommitted = Number(m[1]);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    // Enough commits for several checkpoints, block writes and compactions to have happened.
    await waitFor(() => lastCommitted >= 600 || undefined, 60_000).catch((err) => {
      throw new Error(`${(err as Error).message}; child stderr: ${stderr}`);
    });
    child.kill('SIGKILL');
    await exited;
    const seen = lastCommitted;

    const db = await openTsdb({ dir, retentionMs: 365 * 24 * 3600_000 });
    try {
      const series = db.querier().select([{ type: '=', name: '__name__', value: 'kill_test' }], 0, Number.MAX_SAFE_INTEGER);
      expect(series).toHaveLength(20);
      for (const s of series) {
        const idx = Number(s.labels.s);
        // Everything up to the last reported commit, and at most the one in flight after it.
        expect(s.t.length).toBeGreaterThanOrEqual(seen + 1);
        expect(s.t.length).toBeLessThanOrEqual(seen + 3);
        for (let i = 0; i < s.t.length; i++) {
          expect(s.t[i]).toBe(i * 1000);
          expect(s.v[i]).toBe(i + idx / 100);
        }
      }
      // It keeps working after the restart.
      const app = db.appender();
      app.append({ __name__: 'kill_test', s: '0' }, 10_000_000, 1);
      await app.commit();
    } finally {
      await db.close();
    }
  });
});
