/**
 * V8 settings for the long-running service, applied by `vigil start` before
 * it loads the rest of the program (loading alone would grow the young generation).
 *
 * The young generation stays at its initial size instead of growing to 32 MB
 * (16 MB per semi-space): the main thread's steady work (appending scraped
 * batches, evaluating rules) allocates little that dies young, and the grown
 * space costs about 30 MB of resident memory at idle, a quarter of what the
 * service needs with nothing configured. Scrape workers have their own heaps,
 * sized by the pool. Anyone setting semi-space sizes on the command line or in
 * NODE_OPTIONS keeps theirs.
 */
import { setFlagsFromString } from 'node:v8';

export function useServiceHeapSettings(): void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('semi-space'));
  if (!given) setFlagsFromString('--semi-space-growth-factor=1');
}
