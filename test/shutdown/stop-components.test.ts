/**
 * The shutdown budget when a component overruns it: the stuck component is
 * left behind at the deadline with a warning naming it, and the components
 * stopped after it still complete their local writes. Time moves only on the
 * test's clock, so nothing here depends on the machine's speed.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/alerts/notify/clock.js';
import type { Component } from '../../src/component.js';
import { createLogger } from '../../src/logger.js';
import { MIN_LOCAL_WRITE_MS, stopComponents } from '../../src/shutdown.js';

const TIMEOUT_MS = 4_000;

function capture() {
  const lines: Array<{ level: string; msg: string; component?: string }> = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as (typeof lines)[number]);
      cb();
    },
  });
  return { lines, logger: createLogger({ destination: out, limit: false }) };
}

/** Lets every promise chain that can move without the clock run. */
const drain = () => new Promise<void>((r) => setImmediate(r));

describe('stopping the components within the shutdown deadline', () => {
  it('abandons a stop that never settles at the deadline, naming it, and the later components still write', async () => {
    const clock = new ManualClock();
    const t0 = clock.now();
    const { lines, logger } = capture();
    const events: string[] = [];
    const written: string[] = [];
    // Started first, so stopped last: like the log spool behind the notifier.
    const spool: Component = {
      name: 'spool',
      start: async () => undefined,
      halt: () => events.push('halt spool'),
      async stop(deadline) {
        events.push(`stop spool until +${deadline! - t0}`);
        // A local write that takes a while, begun after the stuck component's deadline passed.
        await clock.sleep(MIN_LOCAL_WRITE_MS - 50);
        written.push('spool');
      },
    };
    const stuck: Component = {
      name: 'stuck',
      start: async () => undefined,
      halt: () => events.push('halt stuck'),
      stop: () => {
        events.push('stop stuck');
        return new Promise<void>(() => undefined);
      },
    };
    const wal: Component = {
      name: 'wal',
      start: async () => undefined,
      async stop() {
        events.push('stop wal');
        written.push('wal');
      },
    };

    let done = false;
    const stopping = stopComponents([spool, stuck, wal], { timeoutMs: TIMEOUT_MS, logger, clock }).then(() => (done = true));
    await drain();
    // Every component halts before any stops; they stop in reverse start order.
    expect(events).toEqual(['halt spool', 'halt stuck', 'stop wal', 'stop stuck']);
    expect(written).toEqual(['wal']);

    await clock.advance(TIMEOUT_MS - 1);
    expect(events).not.toContain('stop spool until +2800');
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);

    // The deadline: the stuck component is left behind and the spool stops, waiting for outside parties until 70% of the budget.
    await clock.advance(1);
    expect(lines.filter((l) => l.level === 'warn').map((l) => [l.component, l.msg])).toEqual([['stuck', 'did not stop by the shutdown deadline; moving on']]);
    expect(events.at(-1)).toBe('stop spool until +2800');

    // Past the deadline, the spool's local write still gets its minimum time.
    await clock.advance(MIN_LOCAL_WRITE_MS - 50);
    await stopping;
    expect(done).toBe(true);
    expect(written).toEqual(['wal', 'spool']);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('leaves a local write that outlasts its minimum time too, and logs a failing stop without stopping the rest', async () => {
    const clock = new ManualClock();
    const { lines, logger } = capture();
    const written: string[] = [];
    const slow: Component = {
      name: 'slow',
      start: async () => undefined,
      async stop() {
        await clock.sleep(TIMEOUT_MS + MIN_LOCAL_WRITE_MS);
        written.push('slow');
      },
    };
    const failing: Component = {
      name: 'failing',
      start: async () => undefined,
      stop: async () => {
        throw new Error('disk full');
      },
    };
    const last: Component = {
      name: 'last',
      start: async () => undefined,
      async stop() {
        written.push('last');
      },
    };
    const stopping = stopComponents([last, slow, failing], { timeoutMs: TIMEOUT_MS, logger, clock });
    await drain();
    expect(lines.map((l) => [l.level, l.component, l.msg])).toEqual([['error', 'failing', 'error while stopping']]);
    await clock.advance(TIMEOUT_MS);
    await stopping;
    expect(lines.map((l) => [l.level, l.component, l.msg]).at(-1)).toEqual(['warn', 'slow', 'did not stop by the shutdown deadline; moving on']);
    expect(written).toEqual(['last']);
  });
});
