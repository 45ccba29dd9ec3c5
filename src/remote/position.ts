import { readJsonState, writeFileAtomic } from '../util/atomic-file.js';
import type { WalPosition } from './wal-reader.js';

/**
 * What a queue saves so sending resumes exactly after a restart: the WAL
 * position up to which everything was sent, and for the round in flight (the
 * WAL range from there to `end`), how many batches each shard already got
 * accepted. A round re-read from the same range splits into the same batches,
 * so only the unsent ones go out again.
 */
export interface QueueState {
  segment: number;
  offset: number;
  round?: { end: WalPosition; shards: number; perSend: number; sent: number[] };
}

const okInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

export async function loadState(path: string): Promise<QueueState | undefined> {
  const v = (await readJsonState(path)) as Partial<QueueState> | undefined;
  if (!v || !okInt(v.segment) || !okInt(v.offset)) return undefined;
  const state: QueueState = { segment: v.segment, offset: v.offset };
  const r = v.round;
  if (
    r &&
    r.end &&
    okInt(r.end.segment) &&
    okInt(r.end.offset) &&
    okInt(r.shards) &&
    r.shards > 0 &&
    okInt(r.perSend) &&
    r.perSend > 0 &&
    Array.isArray(r.sent) &&
    r.sent.length === r.shards &&
    r.sent.every(okInt)
  ) {
    state.round = { end: { segment: r.end.segment, offset: r.end.offset }, shards: r.shards, perSend: r.perSend, sent: [...r.sent] };
  }
  return state;
}

/** Saves states one at a time (concurrent shards report progress), always the newest last. */
export class StateFile {
  private chain: Promise<void> = Promise.resolve();
  constructor(readonly path: string) {}

  save(s: QueueState): Promise<void> {
    const text = JSON.stringify(s);
    this.chain = this.chain.then(() => writeFileAtomic(this.path, text));
    return this.chain;
  }
}
