import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchedLineWriter } from '../../src/api/instrumentation/line-writer.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function target(): { file: string; fd: number } {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-lines-'));
  dirs.push(dir);
  const file = join(dir, 'out.log');
  return { file, fd: openSync(file, 'w') };
}

const turn = () => new Promise((r) => setImmediate(r));
async function settle(file: string, lines: number): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const text = readFileSync(file, 'utf8');
    if (text.split('\n').length - 1 >= lines) return text;
    await new Promise((r) => setTimeout(r, 5));
  }
  return readFileSync(file, 'utf8');
}

describe('BatchedLineWriter', () => {
  it('writes every line, in order, in batches a few milliseconds later', async () => {
    const { file, fd } = target();
    const w = new BatchedLineWriter(fd);
    for (let i = 0; i < 1000; i++) w.write(`line ${i} ${'é'.repeat(i % 7)}\n`);
    expect(readFileSync(file, 'utf8')).toBe('');
    await turn();
    const text = await settle(file, 1000);
    expect(text.split('\n').slice(0, 1000)).toEqual(Array.from({ length: 1000 }, (_, i) => `line ${i} ${'é'.repeat(i % 7)}`));
    w.close();
    closeSync(fd);
  });

  it('bounds what waits: lines past the bound are dropped and reported in the output', async () => {
    const { file, fd } = target();
    const w = new BatchedLineWriter(fd, 100);
    for (let i = 0; i < 50; i++) w.write('0123456789\n');
    expect(w.dropped).toBe(40);
    w.flushSync();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.filter((l) => l === '0123456789')).toHaveLength(10);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ level: 'warn', message: 'request log lines dropped: output too slow', dropped: 40 });
    w.close();
    closeSync(fd);
  });

  it('a descriptor that fails loses its lines without throwing into the request path', async () => {
    const { fd } = target();
    closeSync(fd);
    const w = new BatchedLineWriter(fd);
    expect(() => w.write('x\n')).not.toThrow();
    await turn();
    await new Promise((r) => setTimeout(r, 20));
    expect(() => w.close()).not.toThrow();
  });
});
