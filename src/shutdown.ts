/**
 * Stops Vigil's components within `server.shutdown_timeout`. A component
 * that does not stop in time is left behind with a warning naming it, so the
 * ones after it still write their state (notification log, log spool, WAL).
 */
import type { Component } from './component.js';
import type { Logger } from './logger.js';
import { realClock, untilDeadline, type DeadlineClock } from './util/deadline.js';

/** What each component stopping after the deadline still gets for its local writes (within the last-resort second). */
export const MIN_LOCAL_WRITE_MS = 250;

export interface StopOptions {
  timeoutMs: number;
  logger: Logger;
  clock?: DeadlineClock;
}

/** Halts every component, then stops them in reverse start order. */
export async function stopComponents(components: readonly Component[], o: StopOptions): Promise<void> {
  const clock = o.clock ?? realClock;
  const deadline = clock.now() + o.timeoutMs;
  // Components wait for outside parties until this point; the rest of the
  // budget is kept for local writes (spool, notification log, WAL).
  const waitUntil = deadline - Math.min(2_000, o.timeoutMs * 0.3);
  // Nothing new waits on outside parties from here, even while the components before it stop.
  for (const c of components) c.halt?.();
  // Scrapes and rules stop first; notifications and logs flush last.
  for (const c of [...components].reverse()) {
    // A component's local writes may run to the deadline: on a busy machine the notifier's
    // own flush can take the reserve, and the log spool after it must still be written
    // (the last-resort timer a second later bounds the whole).
    const writesUntil = Math.max(deadline, clock.now() + MIN_LOCAL_WRITE_MS);
    let stopping: Promise<void>;
    try {
      stopping = c.stop(waitUntil).catch((err: unknown) => o.logger.error({ err, component: c.name }, 'error while stopping'));
    } catch (err) {
      o.logger.error({ err, component: c.name }, 'error while stopping');
      continue;
    }
    if (!(await untilDeadline(stopping, writesUntil, clock))) o.logger.warn({ component: c.name }, 'did not stop by the shutdown deadline; moving on');
  }
}
