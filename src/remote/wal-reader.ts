/**
 * Samples with their labels out of the store's write-ahead log, from a
 * position, for the remote-write queue. Built on the store's WAL reader:
 * refs are scoped to a segment (each segment declares the series it uses), so
 * resuming in the middle of a segment first re-reads the declarations before
 * the position; checkpoint snapshots repeat samples logged earlier and are
 * skipped.
 */
import { WalReader as StoreWalReader, type WalPosition, type WalReadResult } from '../tsdb/index.js';
import type { Labels } from '../tsdb/types.js';

export type { WalPosition } from '../tsdb/index.js';

export interface WalSample {
  labels: Labels;
  t: number;
  /** NaN with `stale` for a staleness marker. */
  v: number;
  stale: boolean;
}

export interface ReadResult {
  samples: WalSample[];
  next: WalPosition;
  /** Set when data was skipped: damaged records, or segments deleted before they were read. */
  skipped?: string;
}

export class WalReader {
  private readonly store: StoreWalReader;
  private readonly refs = new Map<number, Labels>();
  /** Segment whose declarations `refs` holds. */
  private scope = -1;

  constructor(readonly dir: string) {
    this.store = new StoreWalReader(dir);
  }

  /** Where a reader with no saved position starts: the end of what is written now. */
  tail(): WalPosition {
    return this.store.end();
  }

  /**
   * Reads whole records from `pos`, about `maxBytes` of them, never past
   * `until` (a record boundary). Returns the samples and the position after them.
   */
  read(pos: WalPosition, maxBytes = 4 << 20, until?: WalPosition): ReadResult {
    let budget = maxBytes;
    if (until) {
      if (pos.segment > until.segment || (pos.segment === until.segment && pos.offset >= until.offset)) return { samples: [], next: pos };
      const seg = this.store.segments().find((s) => s.segment === pos.segment);
      const segEnd = pos.segment === until.segment ? until.offset : (seg?.size ?? pos.offset);
      // Within one segment at a time, so the read cannot run past `until` into the next.
      if (seg) budget = Math.min(budget, Math.max(1, segEnd - pos.offset));
    }
    if (pos.offset > 0 && this.scope !== pos.segment) this.declare(pos);
    const r = this.store.read(pos, budget);
    const samples: WalSample[] = [];
    for (const rec of r.records) {
      if (rec.segment !== this.scope) {
        this.refs.clear();
        this.scope = rec.segment;
      }
      if (rec.type === 'series') this.refs.set(rec.ref, Object.freeze({ ...rec.labels }));
      else if (rec.type === 'samples') {
        for (const s of rec.samples) {
          const labels = this.refs.get(s.ref);
          if (labels) samples.push({ labels, t: s.t, v: s.v, stale: s.stale });
        }
      }
    }
    return { samples, next: r.next, skipped: describeSkips(r) };
  }

  /** Learns the series declared in `pos.segment` before `pos.offset`. */
  private declare(pos: WalPosition): void {
    this.refs.clear();
    this.scope = pos.segment;
    let at: WalPosition = { segment: pos.segment, offset: 0 };
    while (at.segment === pos.segment && at.offset < pos.offset) {
      const r = this.store.read(at, pos.offset - at.offset);
      for (const rec of r.records) if (rec.type === 'series' && rec.segment === pos.segment) this.refs.set(rec.ref, Object.freeze({ ...rec.labels }));
      if (r.next.segment === at.segment && r.next.offset === at.offset) break;
      at = r.next;
    }
  }
}

function describeSkips(r: WalReadResult): string | undefined {
  const parts: string[] = [];
  if (r.missing.length) parts.push(`WAL segments ${r.missing.join(', ')} were deleted before they were read`);
  for (const d of r.damage.slice(0, 5)) parts.push(`WAL segment ${d.segment} offset ${d.offset}: ${d.reason}`);
  if (r.damage.length > 5) parts.push(`and ${r.damage.length - 5} more damaged records`);
  return parts.length ? parts.join('; ') : undefined;
}
