import { Counter, Gauge, type Registry } from 'prom-client';

/** What the store reports about itself. Names mirror prometheus_tsdb_* where the meaning matches. */
export interface TsdbStatusSource {
  seriesCount(): number;
  headChunks(): number;
  blockBytes(): number;
  walBytes(): number;
  chunkBytes(): number;
  blockCount(): number;
  sampleCount(): number;
}

export class TsdbMetrics {
  readonly samplesAppended: Counter;
  readonly rejected: Counter<'reason'>;
  readonly walCorruptions: Counter;
  readonly blockCorruptions: Counter;
  readonly chunkCorruptions: Counter;
  readonly checkpoints: Counter;
  readonly checkpointFailures: Counter;
  readonly compactions: Counter;
  private readonly names: string[] = [];

  constructor(
    private readonly registry: Registry,
    src: TsdbStatusSource,
  ) {
    const registers = [registry];
    const gauge = (name: string, help: string, read: () => number) => {
      this.names.push(name);
      return new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    };
    const counter = <L extends string = never>(name: string, help: string, labelNames: L[] = []) => {
      this.names.push(name);
      return new Counter<L>({ name, help, registers, labelNames });
    };
    gauge('vigil_tsdb_head_series', 'Number of series in the store.', () => src.seriesCount());
    gauge('vigil_tsdb_head_chunks', 'Number of open (head) chunks.', () => src.headChunks());
    gauge('vigil_tsdb_samples', 'Number of samples held.', () => src.sampleCount());
    gauge('vigil_tsdb_storage_blocks_bytes', 'Bytes of block files in the data directory.', () => src.blockBytes());
    gauge('vigil_tsdb_wal_storage_size_bytes', 'Bytes of WAL segments in the data directory.', () => src.walBytes());
    gauge('vigil_tsdb_chunk_bytes', 'Bytes of compressed sample data in memory.', () => src.chunkBytes());
    gauge('vigil_tsdb_blocks_loaded', 'Number of block files.', () => src.blockCount());
    this.samplesAppended = counter('vigil_tsdb_head_samples_appended_total', 'Samples appended.');
    this.rejected = counter('vigil_tsdb_samples_rejected_total', 'Samples refused, by reason (out_of_order, duplicate, invalid, series_limit).', ['reason']);
    this.walCorruptions = counter('vigil_tsdb_wal_corruptions_total', 'Damaged or torn WAL segments found while loading.');
    this.blockCorruptions = counter('vigil_tsdb_block_corruptions_total', 'Blocks with a damaged index found while loading (intact chunks copied to a new block, the file set aside as .corrupt).');
    this.chunkCorruptions = counter('vigil_tsdb_chunk_corruptions_total', 'Damaged chunks (or chunk index entries) found in blocks and skipped; each is counted once.');
    this.checkpoints = counter('vigil_tsdb_checkpoints_total', 'Checkpoints completed (blocks written, WAL truncated).');
    this.checkpointFailures = counter('vigil_tsdb_checkpoint_failures_total', 'Checkpoints that failed.');
    this.compactions = counter('vigil_tsdb_compactions_total', 'Block merges completed.');
  }

  unregister(): void {
    for (const n of this.names) this.registry.removeSingleMetric(n);
  }
}
