import { describe, expect, it } from 'vitest';
import { Slots } from '../../src/util/slots.js';

describe('Slots', () => {
  it('runs at most `size` at once, in order, and drops aborted waiters cheaply', async () => {
    const slots = new Slots(2);
    const ac = new AbortController();
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const gates: Array<() => void> = [];
    const task = (n: number) => () =>
      new Promise<number>((resolve) => {
        running++;
        peak = Math.max(peak, running);
        gates.push(() => {
          running--;
          order.push(n);
          resolve(n);
        });
      });
    const first = [slots.run(task(1)), slots.run(task(2))];
    const waiting = Array.from({ length: 20_000 }, (_, i) => slots.run(task(100 + i), ac.signal).catch((e: unknown) => e));
    const last = slots.run(task(3));
    ac.abort();
    const aborted = await Promise.all(waiting);
    expect(aborted.every((e) => e instanceof Error && e.name === 'AbortError')).toBe(true);
    while (gates.length) {
      gates.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all([...first, last])).toEqual([1, 2, 3]);
    expect(order).toEqual([1, 2, 3]);
    expect(peak).toBe(2);
  });

  it('refuses waiters past the queue bound', async () => {
    const slots = new Slots(1, 1, (b, w) => new Error(`full ${b}/${w}`));
    const hold = new Promise<void>(() => undefined);
    void slots.run(() => hold);
    void slots.run(() => hold);
    await expect(slots.run(() => hold)).rejects.toThrow('full 1/1');
  });
});
