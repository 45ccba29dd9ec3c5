import { readJsonState, writeFileAtomic } from '../util/atomic-file.js';
import type { WalPosition } from './wal-reader.js';

/**
 * What a queue saves so sending resumes exactly after a restart: the WAL
 * position up to which everything was sent, and for the round in flight (the
 * WAL range from there to `end`), how many batches each shard already got
 * accepted (as of the last save: it may lag behind by the last few). A round
 * re-read from the same range splits into the same batches, so only the
 * batches not recorded as sent go out again.
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

/**
 * Saves states one at a time (concurrent shards report progress), always the
 * newest last. A state given while a write is under way replaces any other
 * waiting one: the next write takes the newest, and each caller's promise
 * settles once a state at least as new as its own is on disk.
 */
export class StateFile {
  private tail: Promise<void> = Promise.resolve();
  private waiting: string | undefined;
  private waitingDone: Promise<void> | undefined;
  constructor(readonly path: string) {}

  /** The first state of a new queue, synced with its directory: without the file a restart would start at the WAL's end. */
  async create(s: QueueState): Promise<void> {
    await this.tail;
    await writeFileAtomic(this.path, JSON.stringify(s));
  }

  save(s: QueueState): Promise<void> {
    this.waiting = JSON.stringify(s);
    if (!this.waitingDone) {
      this.waitingDone = this.tail.then(() => {
        const text = this.waiting!;
        this.waiting = undefined;
        this.waitingDone = undefined;
        // A position lost to a power cut only means samples sent again, so the rename need not be synced.
        return writeFileAtomic(this.path, text, { syncDir: false });
      });
      this.tail = this.waitingDone.catch(() => undefined);
    }
    return this.waitingDone;
  }
}
