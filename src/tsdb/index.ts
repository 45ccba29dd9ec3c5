import { Registry } from 'prom-client';
import { Tsdb, type TsdbOptions } from './db.js';
import { TsdbMetrics } from './metrics.js';

export { Tsdb, type TsdbOptions } from './db.js';
export { SampleError, type SampleErrorCode } from './errors.js';
export { MemoryStorage } from './memory.js';
export {
  WalReader,
  listWalSegments,
  type RecordVisitor,
  type WalDamage,
  type WalPosition,
  type WalReadResult,
  type WalRecord,
  type WalSample,
  type WalHistogramSample,
  type WalSegmentInfo,
} from './wal/reader.js';
export type * from './types.js';

export interface OpenTsdbOptions extends TsdbOptions {
  /** Registry for the vigil_tsdb_* self metrics; a private one when absent. */
  registry?: Registry;
}

/**
 * Opens (creating when missing) the store in `opts.dir`: opens the block
 * files (their series index only), replays the write-ahead log, applies
 * retention. Damage is logged, counted and skipped (a block with a damaged
 * index is recovered by a scan); only an unusable directory (no permission,
 * locked by another process) fails.
 */
export async function openTsdb(opts: OpenTsdbOptions): Promise<Tsdb> {
  const db = new Tsdb(opts);
  db.metrics = new TsdbMetrics(opts.registry ?? new Registry(), {
    seriesCount: () => db.seriesCount(),
    headChunks: () => db.headChunks(),
    blockBytes: () => db.blockBytes(),
    walBytes: () => db.walBytes(),
    chunkBytes: () => db.chunkBytes(),
    blockCount: () => db.blockCount(),
    sampleCount: () => db.sampleCount(),
  });
  try {
    db.load();
  } catch (err) {
    db.metrics.unregister();
    throw err;
  }
  return db;
}
