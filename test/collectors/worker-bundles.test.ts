import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pruneBundles } from '../../src/collectors/worker-entry.js';

describe('worker bundle cache', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('deletes bundles unused for more than a week and keeps the rest', () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-bundles-'));
    const now = Date.now();
    const day = 24 * 3600_000;
    const file = (name: string, ageDays: number) => {
      writeFileSync(join(dir, name), 'export {};\n');
      const t = new Date(now - ageDays * day);
      utimesSync(join(dir, name), t, t);
    };
    file('scrape-worker-aaaaaaaaaaaaaaaa.mjs', 8);
    file('scrape-worker-bbbbbbbbbbbbbbbb.mjs', 6);
    file('scrape-worker-cccccccccccccccc.mjs.123.tmp', 30);
    file('notes.txt', 30);
    expect(pruneBundles(dir, now).sort()).toEqual(['scrape-worker-aaaaaaaaaaaaaaaa.mjs', 'scrape-worker-cccccccccccccccc.mjs.123.tmp']);
    expect(readdirSync(dir).sort()).toEqual(['notes.txt', 'scrape-worker-bbbbbbbbbbbbbbbb.mjs']);
  });

  it('answers an absent directory with nothing removed', () => {
    dir = join(tmpdir(), `vigil-bundles-absent-${process.pid}`);
    expect(pruneBundles(dir, Date.now())).toEqual([]);
  });
});
