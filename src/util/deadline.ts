/**
 * Waits for `work`, but no later than `deadline` (Unix ms); without a deadline,
 * waits for it. Whether the work finished is the result; the work itself goes
 * on (shutdown moves on to persisting what is left).
 */
export async function untilDeadline(work: Promise<unknown> | undefined, deadline?: number): Promise<boolean> {
  if (!work) return true;
  const settled = work.then(
    () => true,
    () => true,
  );
  if (deadline === undefined) return settled;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}
