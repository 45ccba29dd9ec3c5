import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, flushLogLimits } from '../../src/logger.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, out };
}

describe('log rate limit', () => {
  it('collapses identical warnings and errors into one line with a count per interval', () => {
    let now = 0;
    const { lines, out } = capture();
    const log = createLogger({ destination: out, limit: { intervalMs: 60_000, burst: 2, now: () => now } });
    for (let i = 0; i < 1000; i++) log.child({ group: i }).error({ err: new Error('dead') }, 'send failed');
    for (let i = 0; i < 10; i++) log.warn('slow');
    for (let i = 0; i < 10; i++) log.info('info lines are not limited');
    expect(lines.filter((l) => l.msg === 'send failed')).toHaveLength(2);
    now = 61_000;
    log.error({ err: 'other' }, 'send failed');
    const counts = lines.filter((l) => typeof l.repeated === 'number');
    expect(counts.map((l) => [l.level, l.repeated, l.err])).toEqual([
      ['error', 998, 'dead'],
      ['warn', 8, undefined],
    ]);
    expect(counts[0].msg).toBe('send failed (and 998 more like it in 61s)');
    expect(lines.filter((l) => l.msg === 'info lines are not limited')).toHaveLength(10);
    expect(lines.at(-1)).toMatchObject({ msg: 'send failed', err: 'other' });
  });

  it('caps the kinds it tracks and never holds back fatal lines', () => {
    let now = 0;
    const { lines, out } = capture();
    const log = createLogger({ destination: out, limit: { maxKinds: 3, now: () => now } });
    for (let i = 0; i < 50; i++) log.error(`kind ${i}`);
    for (let i = 0; i < 5; i++) log.fatal('fatal');
    now = 60_000;
    flushLogLimits(log);
    expect(lines.filter((l) => l.level === 'fatal')).toHaveLength(5);
    expect(lines.filter((l) => String(l.msg).startsWith('kind'))).toHaveLength(3);
    expect(lines.at(-1)).toMatchObject({ repeated: 47, msg: '47 further warning and error lines of other kinds were not written (rate limit)' });
  });
});
