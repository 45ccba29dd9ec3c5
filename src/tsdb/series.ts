import { ChunkAppender, ChunkIterator } from './chunk.js';
import type { Labels } from './types.js';

export interface ClosedChunk {
  readonly bytes: Uint8Array;
  readonly count: number;
  readonly minT: number;
  readonly maxT: number;
  /** Written to a block file already. */
  persisted: boolean;
}

/** One series in memory: closed chunks in time order plus the open head chunk. */
export class MemSeries {
  ref = 0;
  chunks: ClosedChunk[] = [];
  head: ChunkAppender | null = null;
  lastT = -Infinity;
  lastV = 0;
  lastStale = false;
  /** WAL generation whose segment holds this series' labels record. */
  walGen = -1;
  /** Removed by retention. */
  dead = false;
  /** The appender holding this series' latest uncommitted sample, and that sample's index there. */
  pendingOwner: object | undefined = undefined;
  pendingIdx = 0;

  constructor(
    readonly labels: Labels,
    readonly key: string,
  ) {}

  /** Appends a sample already checked to be newer than `lastT`; returns the chunk it closed, if any. */
  append(t: number, v: number, stale: boolean, chunkSize: number): ClosedChunk | undefined {
    let closed: ClosedChunk | undefined;
    if (this.head && this.head.count >= chunkSize) closed = this.cutHead();
    if (!this.head) this.head = new ChunkAppender();
    this.head.append(t, v, stale);
    this.lastT = t;
    this.lastV = v;
    this.lastStale = stale;
    return closed;
  }

  cutHead(): ClosedChunk | undefined {
    const h = this.head;
    if (!h || h.count === 0) return undefined;
    const c: ClosedChunk = { bytes: h.bytes(), count: h.count, minT: h.minT, maxT: h.maxT, persisted: false };
    this.chunks.push(c);
    this.head = null;
    return c;
  }

  /** Sets `lastT`/`lastV` from the newest stored sample (after loading). */
  refreshLast(): void {
    const h = this.head;
    const src = h && h.count ? { bytes: h.w.bytes(), count: h.count } : this.chunks[this.chunks.length - 1];
    if (!src) {
      this.lastT = -Infinity;
      return;
    }
    const it = new ChunkIterator(src.bytes, src.count);
    while (it.next()) {
      this.lastT = it.t;
      this.lastV = it.v;
      this.lastStale = it.stale;
    }
  }

  minTime(): number {
    if (this.chunks.length) return this.chunks[0].minT;
    return this.head && this.head.count ? this.head.minT : Infinity;
  }

  sampleCount(): number {
    let n = this.head ? this.head.count : 0;
    for (const c of this.chunks) n += c.count;
    return n;
  }
}
