/**
 * Runs one scrape with a signal that aborts once `timeoutMs` has passed, with
 * an error naming the timeout (it becomes the target's scrape error).
 *
 * The timeout is the target's: time the scraping thread spent runnable but
 * waiting for a core (a saturated machine, the scrape workers' low priority) is
 * not counted, up to QUEUED_ALLOWANCE_MS. A worker thread given 2% of a core
 * needs a second of wall time for 20 ms of CPU: a healthy target was reported
 * down and an `up == 0` rule paged. A target that does not answer leaves the
 * thread asleep, not waiting for a core, so it still times out on time.
 */
import { readFileSync } from 'node:fs';

/**
 * Waiting for a core forgiven per scrape, ms: as long as the scrape pool's default grace for a
 * worker past a scrape's timeout. Starved for longer, the machine cannot keep
 * up and the target's scrape fails.
 */
export const QUEUED_ALLOWANCE_MS = 5000;

export interface ThreadClock {
  /** Monotonic time, ms. */
  now(): number;
  /** Time the calling thread has spent runnable without a core since it started, ms; 0 when unknown. */
  queued(): number;
}

/** This thread's last wait read (each thread has its own module state). */
let lastQueued = 0;

/**
 * The calling thread's run-queue wait from the scheduler's statistics (Linux:
 * /proc/thread-self/schedstat, "cpu_ns wait_ns slices"); elsewhere always 0,
 * which leaves the timeout a plain wall-clock one. A read that fails gives the
 * last value again: no wait is forgiven for it.
 */
export const threadClock: ThreadClock = {
  now: () => performance.now(),
  queued: () => {
    try {
      const wait = Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[1]);
      if (Number.isFinite(wait)) lastQueued = wait / 1e6;
    } catch {
      // Not Linux, or no scheduler statistics.
    }
    return lastQueued;
  },
};

export async function withScrapeTimeout<T>(timeoutMs: number, scrape: (signal: AbortSignal) => Promise<T>, clock: ThreadClock = threadClock): Promise<T> {
  const ac = new AbortController();
  const start = clock.now();
  const queuedAtStart = clock.queued();
  let timer: NodeJS.Timeout;
  // When the timer fires the thread may just have been given a core after waiting for one, with the
  // target's answer already received: the wait is taken off, and the timer armed again for the rest.
  const check = () => {
    const waited = Math.min(Math.max(0, clock.queued() - queuedAtStart), QUEUED_ALLOWANCE_MS);
    const left = timeoutMs - (clock.now() - start - waited);
    if (left > 0) timer = setTimeout(check, left);
    else ac.abort(new Error(`scrape timed out after ${timeoutMs}ms`));
  };
  timer = setTimeout(check, timeoutMs);
  try {
    return await scrape(ac.signal);
  } finally {
    clearTimeout(timer);
  }
}
