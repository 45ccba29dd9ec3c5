/**
 * Samples with their series out of the store's write-ahead log, from a
 * position, for the remote-write queue. Built on the store's WAL reader's
 * framing, decoding only what the queue needs and allocating nothing per sample.
 *
 * Refs are scoped to a segment (each segment declares the series it uses), so
 * resuming in the middle of a segment first re-reads the declarations before
 * the position. Within one process run a series keeps its ref, so a new
 * segment declares the same bytes again: the reader keeps its series across
 * segments and decodes a declaration's labels only when they differ from what
 * the ref meant before (a restart renumbers series). Whatever the consumer
 * derived from the labels (relabelled, encoded) thus lives as long as the series.
 * Checkpoint snapshots repeat samples logged earlier and are skipped.
 */
import { ByteReader } from '../tsdb/bytes.js';
import { WalReader as StoreWalReader, type WalDamage, type WalPosition } from '../tsdb/index.js';
import { readLabels, RecordType } from '../tsdb/records.js';
import type { Labels } from '../tsdb/types.js';
import { readHistogramSamplesRecord, SamplesCursor } from '../tsdb/wal/records.js';
import type { FloatHistogram } from '../model/histogram.js';
import { grown } from '../util/typed-array.js';

export type { WalPosition } from '../tsdb/index.js';

/**
 * A series as the WAL declared it. `P` is what the consumer derives from it;
 * the labels are decoded only for that (`seriesLabels`), not kept.
 */
export interface WalSeries<P> {
  /** The declaration's label bytes (as a one-byte string, compact and compared at once), to recognise the same series declared again. */
  readonly raw: string;
  /** The segment of its latest declaration: samples of other segments cannot use it. */
  segment: number;
  /** The consumer's, computed on first use. */
  prepared: P | undefined;
  /** It has carried native histograms: a staleness marker then ends a histogram series. */
  histogram: boolean;
}

/**
 * A float sample being handed over; the same object carries the next one
 * after the call returns. Handed over as an object rather than as numbers:
 * a sample time (a millisecond timestamp is no small integer) passed to a
 * call that V8 does not inline is boxed, 16 bytes of garbage per sample.
 */
export interface SampleView {
  readonly t: number;
  /** NaN for a staleness marker. */
  readonly v: number;
  readonly stale: boolean;
}

/** Receives the samples read, in WAL order. */
export interface SampleSink<P> {
  sample(series: WalSeries<P>, at: SampleView): void;
  /** A native histogram sample; `null` is the staleness marker of a histogram series. */
  histogram(series: WalSeries<P>, t: number, h: FloatHistogram | null): void;
}

export interface ReadResult {
  next: WalPosition;
  /** Set when data was skipped: damaged records, or segments deleted before they were read. */
  skipped?: string;
}

export class WalReader<P> {
  private readonly store: StoreWalReader;
  private readonly refs = new Map<number, WalSeries<P>>();
  /** Segment whose declarations `refs` holds from its start. */
  private scope = -1;
  /**
   * The refs of the last Samples record by position, with their series: a scrape's
   * record lists its series in the same order each time, so most samples find their
   * series by one comparison instead of a Map lookup (100k of them, all over the heap).
   * Emptied whenever a ref's meaning changes.
   */
  private lastRefs = new Int32Array(1024);
  private lastSeries: Array<WalSeries<P> | undefined> = [];
  private lastLen = 0;

  constructor(readonly dir: string) {
    this.store = new StoreWalReader(dir);
  }

  /** Where a reader with no saved position starts: the end of what is written now. */
  tail(): WalPosition {
    return this.store.end();
  }

  /** Series known now (for tests and metrics). */
  get seriesCount(): number {
    return this.refs.size;
  }

  /**
   * Reads whole records from `pos`, about `maxBytes` of them, never past
   * `until` (a record boundary), handing each sample to `sink`. Returns the
   * position after them.
   */
  read(pos: WalPosition, sink: SampleSink<P>, maxBytes = 4 << 20, until?: WalPosition): ReadResult {
    let budget = maxBytes;
    if (until) {
      if (pos.segment > until.segment || (pos.segment === until.segment && pos.offset >= until.offset)) return { next: pos };
      const seg = this.store.segments().find((s) => s.segment === pos.segment);
      const segEnd = pos.segment === until.segment ? until.offset : (seg?.size ?? pos.offset);
      // Within one segment at a time, so the read cannot run past `until` into the next.
      if (seg) budget = Math.min(budget, Math.max(1, segEnd - pos.offset));
    }
    if (pos.offset > 0 && this.scope !== pos.segment) this.declare(pos);
    const r = this.store.scan(pos, budget, (segment, offset, payload, damage) => {
      if (segment !== this.scope) this.enter(segment);
      this.record(segment, offset, payload, damage, sink);
    });
    return { next: r.next, skipped: describeSkips(r.missing, r.damage) };
  }

  private record(segment: number, offset: number, payload: Uint8Array, damage: WalDamage[], sink: SampleSink<P> | undefined): void {
    const type = payload[0];
    try {
      if (type === RecordType.Series) this.series(segment, payload);
      else if (type === RecordType.Samples) {
        if (!sink) return;
        const r = new ByteReader(payload);
        r.u8();
        const refs = this.refs;
        const c = new SamplesCursor(r);
        const known = this.lastLen;
        let lastRefs = this.lastRefs;
        const lastSeries = this.lastSeries;
        let k = 0;
        while (c.next()) {
          const ref = c.ref;
          let s: WalSeries<P> | undefined;
          if (k < known && lastRefs[k] === ref) s = lastSeries[k];
          else {
            s = refs.get(ref);
            if (k === lastRefs.length) this.lastRefs = lastRefs = grown(lastRefs, k * 2);
            lastRefs[k] = ref;
            lastSeries[k] = s;
          }
          k++;
          if (s === undefined || s.segment !== segment) continue;
          // Older WALs log a histogram series' marker as a float marker; it is sent as a histogram one.
          if (c.stale && s.histogram) sink.histogram(s, c.t, null);
          else sink.sample(s, c);
        }
        // Entries past k belong to a longer record before: they stay valid, refs have not changed meaning.
        this.lastLen = Math.max(k, known);
      } else if (type === RecordType.HistogramSamples) {
        const r = new ByteReader(payload);
        r.u8();
        const refs = this.refs;
        readHistogramSamplesRecord(r, (ref, t, h) => {
          const s = refs.get(ref);
          if (s === undefined || s.segment !== segment) return;
          s.histogram = true;
          sink?.histogram(s, t, h === 'stale' ? null : h);
        });
        // Snapshots repeat logged samples: neither is damage.
      } else if (type !== RecordType.HeadChunk) damage.push({ segment, offset, reason: `unknown record type ${type}` });
    } catch (err) {
      damage.push({ segment, offset, reason: `undecodable record: ${(err as Error).message}` });
    }
  }

  private series(segment: number, payload: Uint8Array): void {
    const r = new ByteReader(payload);
    r.u8();
    const ref = r.uvarint();
    const raw = Buffer.from(payload.buffer, payload.byteOffset + r.pos, payload.length - r.pos).toString('latin1');
    const known = this.refs.get(ref);
    if (known && known.raw === raw) {
      known.segment = segment;
      return;
    }
    readLabels(r); // a damaged declaration is reported here, not when its series is first used
    this.refs.set(ref, { raw, segment, prepared: undefined, histogram: false });
    this.lastLen = 0;
  }

  /**
   * A new segment from its start. Series not declared in the previous one
   * are gone from the store (or renumbered): they are forgotten, which bounds
   * memory to the series of the last two segments.
   */
  private enter(segment: number): void {
    this.scope = segment;
    for (const [ref, s] of this.refs) if (s.segment < segment - 1) this.refs.delete(ref);
    // Nor are forgotten series kept by the positions.
    this.lastSeries = [];
    this.lastLen = 0;
  }

  /**
   * Learns the series declared in `pos.segment` before `pos.offset`, and which
   * of them carry native histograms, so that a staleness marker read after a
   * resume is still sent as a histogram one.
   */
  private declare(pos: WalPosition): void {
    this.scope = pos.segment;
    let at: WalPosition = { segment: pos.segment, offset: 0 };
    while (at.segment === pos.segment && at.offset < pos.offset) {
      const r = this.store.scan(at, pos.offset - at.offset, (segment, offset, payload, damage) => {
        if (segment === pos.segment && (payload[0] === RecordType.Series || payload[0] === RecordType.HistogramSamples)) this.record(segment, offset, payload, damage, undefined);
      });
      if (r.next.segment === at.segment && r.next.offset === at.offset) break;
      at = r.next;
    }
  }
}

/** A series' labels, decoded from its declaration. */
export function seriesLabels(s: WalSeries<unknown>): Labels {
  return Object.freeze(readLabels(new ByteReader(Buffer.from(s.raw, 'latin1'))));
}

function describeSkips(missing: number[], damage: WalDamage[]): string | undefined {
  const parts: string[] = [];
  if (missing.length) parts.push(`WAL segments ${missing.join(', ')} were deleted before they were read`);
  for (const d of damage.slice(0, 5)) parts.push(`WAL segment ${d.segment} offset ${d.offset}: ${d.reason}`);
  if (damage.length > 5) parts.push(`and ${damage.length - 5} more damaged records`);
  return parts.length ? parts.join('; ') : undefined;
}
