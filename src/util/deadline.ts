/** Time as deadlines see it; tests pass a clock they move by hand. */
export interface DeadlineClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(t: unknown): void;
}

export const realClock: DeadlineClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
};

/**
 * Waits for `work`, but no later than `deadline` (Unix ms); without a deadline,
 * waits for it. Whether the work finished is the result; the work itself goes
 * on (shutdown moves on to persisting what is left).
 */
export async function untilDeadline(work: Promise<unknown> | undefined, deadline?: number, clock: DeadlineClock = realClock): Promise<boolean> {
  if (!work) return true;
  const settled = work.then(
    () => true,
    () => true,
  );
  if (deadline === undefined) return settled;
  let timer: unknown;
  const late = new Promise<boolean>((resolve) => {
    timer = clock.setTimeout(() => resolve(false), Math.max(0, deadline - clock.now()));
  });
  try {
    return await Promise.race([settled, late]);
  } finally {
    clock.clearTimeout(timer);
  }
}
