/**
 * Runs one scrape with a signal that aborts once `timeoutMs` has passed, with
 * an error naming the timeout (it becomes the target's scrape error).
 */
export async function withScrapeTimeout<T>(timeoutMs: number, scrape: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`scrape timed out after ${timeoutMs}ms`)), timeoutMs);
  try {
    return await scrape(ac.signal);
  } finally {
    clearTimeout(timer);
  }
}
