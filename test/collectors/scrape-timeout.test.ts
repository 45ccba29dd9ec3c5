/**
 * The scrape timeout measures the target's answer: time the scraping thread
 * spent waiting for a core is not counted (up to QUEUED_ALLOWANCE_MS), time the
 * target takes is. An injected clock stands for the thread's scheduler
 * statistics; fake timers stand for the wall clock.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { QUEUED_ALLOWANCE_MS, threadClock, withScrapeTimeout, type ThreadClock } from '../../src/collectors/scrape-timeout.js';

let queued = 0;
const clock: ThreadClock = { now: () => Date.now(), queued: () => queued };

/** A scrape whose target answers after `answerMs`, or never; it ends early with the signal's reason. */
function target(answerMs = Infinity) {
  return (signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      if (answerMs !== Infinity) setTimeout(() => resolve('answer'), answerMs);
      signal.addEventListener('abort', () => reject(signal.reason as Error));
    });
}

beforeEach(() => {
  vi.useFakeTimers();
  queued = 0;
});
afterEach(() => vi.useRealTimers());

describe('scrape timeout', () => {
  it('does not count the time the thread waited for a core: a target that answered is kept', async () => {
    const run = withScrapeTimeout(500, target(800), clock);
    // 400 of the first 500 ms were spent waiting for a core: 100 ms of the timeout are used.
    queued = 400;
    await vi.advanceTimersByTimeAsync(500);
    await vi.advanceTimersByTimeAsync(300);
    await expect(run).resolves.toBe('answer');
  });

  it('times a target that does not answer out on time', async () => {
    const run = withScrapeTimeout(500, target(), clock);
    const failed = expect(run).rejects.toThrow('scrape timed out after 500ms');
    await vi.advanceTimersByTimeAsync(500);
    await failed;
  });

  it('forgives waiting for a core up to QUEUED_ALLOWANCE_MS', async () => {
    const run = withScrapeTimeout(500, target(), clock);
    let settled = false;
    const failed = expect(run.finally(() => (settled = true))).rejects.toThrow('scrape timed out after 500ms');
    queued = 60_000;
    await vi.advanceTimersByTimeAsync(500 + QUEUED_ALLOWANCE_MS - 1);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await failed;
  });

  it.runIf(process.platform === 'linux')('reads the thread\'s wait for a core from the scheduler', () => {
    const q = threadClock.queued();
    expect(q).toBeGreaterThanOrEqual(0);
    expect(threadClock.queued()).toBeGreaterThanOrEqual(q);
  });
});
