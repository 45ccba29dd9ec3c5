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
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function useServiceHeapSettings(): void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('semi-space'));
  if (!given) setFlagsFromString('--semi-space-growth-factor=1');
}

/**
 * One compacting full collection once start-up is done, before Vigil reports
 * ready. Loading the program, validating the config and opening the store
 * leave about a fifth of the old generation as garbage spread over its pages:
 * an ordinary collection frees the objects but keeps the pages resident, and
 * V8's memory reducer compacts only after some seconds of idling (and not at
 * all while scrapes keep allocating). Compacting moves the survivors together
 * and returns the emptied pages: about 4 MB less resident memory, for some
 * tens of milliseconds once. A compaction moves every live object, so its
 * time grows with the heap: past COMPACT_MAX_HEAP (a large store replayed
 * from the WAL) those few MB do not matter and the pause is skipped.
 *
 * V8 offers a collection to scripts only when `gc` is exposed, which applies
 * to contexts created afterwards: a throwaway context provides it, and the
 * flags are put back so no later context (a vm sandbox, a worker) sees `gc`.
 */
const COMPACT_MAX_HEAP = 64 * 1024 * 1024;

export function compactHeapOnce(): void {
  if (getHeapStatistics().used_heap_size > COMPACT_MAX_HEAP) return;
  const exposed = process.execArgv.some((a) => a.includes('expose-gc') || a.includes('expose_gc'));
  if (!exposed) setFlagsFromString('--expose-gc');
  let gc: () => void;
  try {
    gc = runInNewContext('gc') as () => void;
  } finally {
    if (!exposed) setFlagsFromString('--no-expose-gc');
  }
  const compacting = process.execArgv.some((a) => a.includes('compact-on-every-full-gc'));
  if (!compacting) setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc();
  } finally {
    if (!compacting) setFlagsFromString('--no-compact-on-every-full-gc');
  }
}
