import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { BlockSet, DEFAULT_BLOCK_WINDOW } from './blocks.js';
import { DecodedChunkCache } from './decoded-cache.js';
import { DEFAULT_MAX_SERIES } from './db.js';
import { Head } from './head.js';
import { replayWal } from './head-wal.js';
import { StoreQuerier } from './query.js';
import { SeriesIndex } from './series.js';
import { Wal } from './wal/wal.js';

export interface ReadOnlyStore {
  querier: StoreQuerier;
  index: SeriesIndex;
  blocks: BlockSet;
  close(): void;
}

/**
 * Opens a data directory for reading only (dump, analyze): blocks and the
 * WAL as they are, no lock, nothing written or deleted; damaged blocks are
 * skipped, not recovered. Safe while Vigil runs on the directory.
 */
export function openReadOnly(dir: string, logger: Logger = silentLogger()): ReadOnlyStore {
  if (!existsSync(join(dir, 'blocks')) && !existsSync(join(dir, 'wal'))) throw new Error(`${dir}: not a Vigil data directory (no blocks/ or wal/)`);
  const index = new SeriesIndex();
  const blocks = new BlockSet({ dir: join(dir, 'blocks'), logger, window: DEFAULT_BLOCK_WINDOW, maxSpan: DEFAULT_BLOCK_WINDOW, minBlocks: 2, sliceMs: 5 }, index);
  if (existsSync(join(dir, 'blocks'))) blocks.load(true);
  if (existsSync(join(dir, 'wal'))) {
    const head = new Head(index, new Wal(join(dir, 'wal')), {
      chunkSize: 120,
      cutEvery: DEFAULT_BLOCK_WINDOW,
      bufferedWal: false,
      maxSeries: DEFAULT_MAX_SERIES,
      walOnly: false,
    });
    replayWal(head, logger);
  }
  return { querier: new StoreQuerier(index, blocks, new DecodedChunkCache(0), 120), index, blocks, close: () => blocks.close() };
}

/**
 * Runs `fn` on the data directory opened read-only and closes it after; a
 * directory that cannot be opened prints why and gives exit code 1.
 */
export async function withReadOnlyStore(dir: string, fn: (store: ReadOnlyStore) => number | Promise<number>): Promise<number> {
  let store: ReadOnlyStore;
  try {
    store = openReadOnly(dir);
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}
