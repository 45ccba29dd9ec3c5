/**
 * Turns one target's scraped samples into a compact batch for the store: target
 * labels and honor_labels handling, metric relabeling, label and sample limits,
 * duplicate series after relabeling, and a small integer reference per final
 * series. The labels of a reference travel once (as a definition, when the
 * series first appears); later scrapes carry only references and values, so a
 * batch crosses threads as a few typed arrays. Runs where the scrape runs: in a
 * scrape worker for HTTP targets, in the main thread for probes and databases.
 */
import type { FloatHistogram } from '../model/histogram.js';
import type { Labels } from '../tsdb/types.js';
import type { ParsedSample, ParsedColumns } from './exposition.js';
import { relabel, type CompiledRelabel } from './relabel.js';
import { SeriesTable } from '../util/series-table.js';
import { grown } from '../util/typed-array.js';
import { labelsHash } from '../model/labels.js';

export interface MapperSettings {
  /** Final target labels (job, instance, static labels), nothing starting with `__`. */
  targetLabels: Labels;
  honorLabels: boolean;
  honorTimestamps: boolean;
  metricRelabel: CompiledRelabel[];
  /** 0 = no limit. */
  sampleLimit: number;
  labelLimit: number;
  labelNameLengthLimit: number;
  labelValueLengthLimit: number;
}

/** One scrape's result, as the store appender consumes it. */
export interface Batch {
  /** References defined by this batch (new series), with their label pairs. */
  defRefs: Int32Array<ArrayBuffer>;
  /** Pairs per definition. */
  defCounts: Int32Array<ArrayBuffer>;
  /**
   * name, value, name, value, ... of every definition in order, as indexes
   * into `defStrings`: a target's series share most of their names and values,
   * and each distinct string crosses threads once per batch rather than once
   * per series (a 100k-series target's first batch: a few hundred strings
   * instead of a million, each a copy the receiving heap would throw away).
   */
  defPairs: Int32Array<ArrayBuffer>;
  /** The distinct label names and values of this batch's definitions. */
  defStrings: string[];
  /** Reference, value and timestamp of every sample; `ts` NaN = the scrape's timestamp. */
  refs: Int32Array<ArrayBuffer>;
  values: Float64Array<ArrayBuffer>;
  ts: Float64Array<ArrayBuffer>;
  /** Native histogram samples (protobuf scrapes only): reference, timestamp as in `ts`, value. Absent when none. */
  hRefs?: Int32Array<ArrayBuffer>;
  hTs?: Float64Array<ArrayBuffer>;
  histograms?: FloatHistogram[];
  /** Samples in the exposition, after relabeling, and series not in the previous scrape. */
  scraped: number;
  post: number;
  added: number;
  /** References restart: the mapper that produced this batch has no earlier state. */
  fresh: boolean;
}

/** A scrape failure with a message for `up`'s target page; `bytesRead` tells how much of the body was received. */
export class ScrapeError extends Error {
  constructor(
    message: string,
    readonly bytesRead = 0,
  ) {
    super(message);
    this.name = 'ScrapeError';
  }
}

interface FinalSeries {
  labels: Labels;
  /** labelsHash of `labels`. */
  hash: number;
  ref: number;
  /** Number of the last run that wrote this series. */
  seen: number;
  /** Held in `interned` (false once swept). */
  interned: boolean;
  /** Position of its last sample in the run's order. */
  pos: number;
}

/** Label objects of a run in order with their final series, in reused arrays. */
class Order {
  labels: Labels[] = [];
  fins: Array<FinalSeries | null> = [];
  n = 0;
  push(l: Labels, f: FinalSeries | null): void {
    this.labels[this.n] = l;
    this.fins[this.n++] = f;
  }
}

/** Growable typed-array column. */
class Column<A extends Int32Array<ArrayBuffer> | Float64Array<ArrayBuffer>> {
  n = 0;
  constructor(public a: A) {}
  push(v: number): void {
    if (this.n === this.a.length) this.a = grown(this.a, this.a.length * 2);
    this.a[this.n++] = v;
  }
  take(): A {
    const out = this.a.slice(0, this.n) as A;
    this.n = 0;
    return out;
  }
}

export class SeriesMapper {
  private settings: MapperSettings;
  /** Parsed label object -> final series; valid while settings are unchanged. */
  private finalCache = new WeakMap<Labels, FinalSeries | null>();
  /**
   * One FinalSeries per final label set, so a series keeps its object and
   * reference across scrapes. Keyed by a hash of the labels and compared label
   * by label: a string key per series would cost a 100k-series target more
   * worker memory than everything else the mapper keeps.
   */
  private interned = new SeriesTable<FinalSeries>();
  private freeRefs: number[] = [];
  private nextRef = 0;
  private run = 0;
  private previousRun = 0;
  private fresh = true;
  private refs = new Column(new Int32Array(1024));
  private values = new Column(new Float64Array(1024));
  private ts = new Column(new Float64Array(1024));
  private defRefs = new Column(new Int32Array(64));
  private defCounts = new Column(new Int32Array(64));
  private defPairs = new Column(new Int32Array(64));
  private defStrings: string[] = [];
  /** Index in `defStrings` of each string there, for the batch being built. */
  private defIndex = new Map<string, number>();
  private hRefs = new Column(new Int32Array(16));
  private hTs = new Column(new Float64Array(16));
  private histograms: FloatHistogram[] = [];
  private scraped = 0;
  private post = 0;
  private added = 0;
  private writtenCount = 0;
  /**
   * The parsed label objects of the previous run in order, with their final
   * series: a target lists its series in the same order every scrape, and a
   * kept parser hands over the same label objects, so most samples find their
   * series by one identity comparison instead of a hash lookup.
   */
  private order = new Order();
  private nextOrder = new Order();
  private cursor = 0;

  constructor(settings: MapperSettings) {
    this.settings = settings;
  }

  /** New settings (config reload): cached results are recomputed, references kept. */
  update(settings: MapperSettings): void {
    this.settings = settings;
    this.finalCache = new WeakMap();
    this.order.n = 0;
  }

  /** Starts a run (one scrape). */
  begin(): void {
    this.run++;
    this.refs.n = this.values.n = this.ts.n = 0;
    this.hRefs.n = this.hTs.n = 0;
    this.histograms = [];
    this.defRefs.n = this.defCounts.n = 0;
    this.clearDefinitions();
    this.scraped = this.post = this.added = this.writtenCount = 0;
    this.nextOrder.n = 0;
    this.cursor = 0;
  }

  /** Adds `samples[from..]` to the run; throws as soon as a limit is crossed. */
  add(samples: readonly ParsedSample[], from = 0): void {
    const honor = this.settings.honorTimestamps;
    for (let i = from; i < samples.length; i++) {
      const sample = samples[i];
      const fin = this.written(sample.labels);
      if (fin === null) continue;
      this.refs.push(fin.ref);
      this.values.push(sample.value);
      this.ts.push(honor && sample.timestampMs !== undefined ? sample.timestampMs : NaN);
    }
  }

  /** Adds the samples in `c` (a scrape's parsed lines, in columns), as `add` does. */
  addColumns(c: ParsedColumns): void {
    const honor = this.settings.honorTimestamps;
    const { labels, values, ts } = c;
    for (let i = 0; i < c.n; i++) {
      const fin = this.written(labels[i]);
      if (fin === null) continue;
      this.refs.push(fin.ref);
      this.values.push(values[i]);
      // The NaN literal (no timestamp, the usual case) is one constant; a NaN read from the column would be boxed anew for the call.
      const t = ts[i];
      this.ts.push(honor && t === t ? t : NaN);
    }
  }

  /** The final series a sample of `labels` is written to; null when relabeling drops it or it repeats a series of this run. */
  private written(labels: Labels): FinalSeries | null {
    const s = this.settings;
    const order = this.order;
    this.scraped++;
    const c = this.cursor;
    let fin: FinalSeries | null | undefined;
    if (c < order.n && order.labels[c] === labels) {
      fin = order.fins[c];
      this.cursor = c + 1;
    } else {
      fin = this.finalCache.get(labels);
      // Resynchronise after series were inserted or removed.
      if (fin) this.cursor = fin.pos + 1;
    }
    if (fin === undefined || (fin !== null && !fin.interned)) {
      fin = fin === undefined ? this.finalize(labels) : this.intern(fin);
      this.finalCache.set(labels, fin);
    }
    const next = this.nextOrder;
    if (fin !== null) fin.pos = next.n;
    next.push(labels, fin);
    if (fin === null) return null;
    this.post++;
    if (s.sampleLimit > 0 && this.post > s.sampleLimit) throw new ScrapeError(`sample limit exceeded (limit ${s.sampleLimit})`);
    const seen = fin.seen;
    if (seen === this.run) return null; // duplicate after relabeling: first one wins
    fin.seen = this.run;
    if (seen !== this.previousRun) this.added++;
    this.writtenCount++;
    return fin;
  }

  /** Adds native histogram samples to the run, under the same relabeling, limits and references as `add`. */
  addHistograms(samples: ReadonlyArray<{ labels: Labels; value: FloatHistogram; timestampMs?: number }>): void {
    const s = this.settings;
    const run = this.run;
    for (const sample of samples) {
      this.scraped++;
      let fin = this.finalCache.get(sample.labels);
      if (fin === undefined || (fin !== null && !fin.interned)) {
        fin = fin === undefined ? this.finalize(sample.labels) : this.intern(fin);
        this.finalCache.set(sample.labels, fin);
      }
      if (fin === null) continue;
      this.post++;
      if (s.sampleLimit > 0 && this.post > s.sampleLimit) throw new ScrapeError(`sample limit exceeded (limit ${s.sampleLimit})`);
      const seen = fin.seen;
      if (seen === run) continue;
      fin.seen = run;
      if (seen !== this.previousRun) this.added++;
      this.hRefs.push(fin.ref);
      this.histograms.push(sample.value);
      this.hTs.push(s.honorTimestamps && sample.timestampMs !== undefined ? sample.timestampMs : NaN);
      this.writtenCount++;
    }
  }

  /** Samples collected since the run began or the last part was taken. */
  get pending(): number {
    return this.refs.n;
  }

  /** New series defined since the run began or the last part was taken. */
  get pendingDefinitions(): number {
    return this.defRefs.n;
  }

  /**
   * What the run has collected so far, handed over early so the store can
   * append it while the rest of the body is parsed. Counts come with `finish`.
   */
  part(): Batch {
    return this.takeBatch(0, 0, 0);
  }

  /** Hands over what was collected since the last batch, with the given counts. */
  private takeBatch(scraped: number, post: number, added: number): Batch {
    const batch: Batch = {
      defRefs: this.defRefs.take(),
      defCounts: this.defCounts.take(),
      defPairs: this.defPairs.take(),
      defStrings: this.defStrings,
      refs: this.refs.take(),
      values: this.values.take(),
      ts: this.ts.take(),
      scraped,
      post,
      added,
      fresh: this.fresh,
    };
    if (this.hRefs.n > 0) {
      batch.hRefs = this.hRefs.take();
      batch.hTs = this.hTs.take();
      batch.histograms = this.histograms;
      this.histograms = [];
    }
    this.fresh = false;
    this.defStrings = [];
    this.defIndex.clear();
    return batch;
  }

  /**
   * Ends the run and returns its batch. Series the run did not write give up
   * their references, which later definitions may reuse (never within the run
   * that freed them, so the store can still end the old series first).
   */
  finish(): Batch {
    const run = this.run;
    this.previousRun = run;
    [this.order, this.nextOrder] = [this.nextOrder, this.order];
    // A target that shrank: do not keep the old run's label objects alive past what the next run needs.
    if (this.nextOrder.labels.length > 2 * this.order.n + 1024) this.nextOrder = new Order();
    // Steady scrapes write exactly the interned series: nothing to sweep.
    if (this.interned.count !== this.writtenCount) {
      this.interned.retain((fin) => {
        if (fin.seen === run) return true;
        fin.interned = false;
        this.freeRefs.push(fin.ref);
        return false;
      });
    }
    return this.takeBatch(this.scraped, this.post, this.added);
  }

  /**
   * Ends a failed run: every series of the target ends, as in Prometheus,
   * except the source's own failure samples (`extra`, e.g. pg_up 0). All
   * references are forgotten, those the failed run defined included, so the
   * batch is fresh and carries no definitions but the extras': a target that
   * fails at its sample limit does not ship the series it was refused.
   */
  fail(extra: readonly ParsedSample[] = []): Batch {
    this.forgetInterned();
    this.freeRefs = [];
    this.nextRef = 0;
    this.fresh = true;
    this.order.n = 0;
    const reset = () => {
      this.refs.n = this.values.n = this.ts.n = 0;
      this.hRefs.n = this.hTs.n = 0;
      this.histograms = [];
      this.defRefs.n = this.defCounts.n = 0;
      this.clearDefinitions();
      this.run++;
      this.writtenCount = 0;
    };
    reset();
    try {
      this.add(extra);
    } catch {
      this.forgetInterned();
      this.nextRef = 0;
      reset();
    }
    return { ...this.finish(), scraped: 0, post: 0, added: 0 };
  }

  private forgetInterned(): void {
    this.interned.retain((fin) => {
      fin.interned = false;
      return false;
    });
  }

  private clearDefinitions(): void {
    this.defPairs.n = 0;
    this.defStrings = [];
    this.defIndex.clear();
  }

  /** `s`'s index in the batch's `defStrings`, added there when new. */
  private stringIndex(s: string): number {
    let i = this.defIndex.get(s);
    if (i === undefined) {
      i = this.defStrings.length;
      this.defStrings.push(s);
      this.defIndex.set(s, i);
    }
    return i;
  }

  /** Target labels, honor_labels handling, metric relabeling and label limits. */
  private finalize(scraped: Labels): FinalSeries | null {
    const s = this.settings;
    const out = copyLabels(scraped);
    for (const [name, value] of Object.entries(s.targetLabels)) {
      const existing = out[name];
      if (existing === undefined || existing === '') out[name] = value;
      else if (!s.honorLabels) {
        // Conflicts keep both: the scraped value moves to exported_<name>.
        let exported = `exported_${name}`;
        while (out[exported] !== undefined) exported = `exported_${exported}`;
        out[exported] = existing;
        out[name] = value;
      }
    }
    const labels = relabel(out, s.metricRelabel);
    if (labels === null || !labels.__name__) return null;
    const names = Object.keys(labels);
    if (s.labelLimit > 0 && names.length > s.labelLimit) {
      throw new ScrapeError(`label_limit exceeded (metric ${labels.__name__}: ${names.length} labels, limit ${s.labelLimit})`);
    }
    if (s.labelNameLengthLimit > 0 || s.labelValueLengthLimit > 0) {
      for (const n of names) {
        if (s.labelNameLengthLimit > 0 && n.length > s.labelNameLengthLimit) throw new ScrapeError(`label_name_length_limit exceeded (${labels.__name__}: ${n.slice(0, 40)})`);
        if (s.labelValueLengthLimit > 0 && labels[n].length > s.labelValueLengthLimit) throw new ScrapeError(`label_value_length_limit exceeded (${labels.__name__}: ${n})`);
      }
    }
    return this.intern({ labels, hash: labelsHash(labels), ref: -1, seen: -1, interned: false, pos: -1 });
  }

  /** The interned series with `fin`'s labels (`fin` itself, given a reference and defined, when it is the first). */
  private intern(fin: FinalSeries): FinalSeries {
    const table = this.interned;
    for (let k = table.first(fin.hash); k >= 0; k = table.next(k, fin.hash)) {
      const known = table.at(k);
      if (sameLabels(known.labels, fin.labels)) return known;
    }
    fin.interned = true;
    fin.ref = this.freeRefs.length ? (this.freeRefs.pop() as number) : this.nextRef++;
    table.add(fin.hash, fin);
    this.defRefs.push(fin.ref);
    let n = 0;
    for (const name in fin.labels) {
      this.defPairs.push(this.stringIndex(name));
      this.defPairs.push(this.stringIndex(fin.labels[name]));
      n++;
    }
    this.defCounts.push(n);
    return fin;
  }
}

/**
 * A writable copy of a label set. Object.assign, not spread: V8 gives every
 * spread copy that later gains properties a hidden class of its own (about
 * 450 bytes per series of a large target), while assigned copies share one.
 * A label called __proto__ would be lost by assignment, so such sets are spread.
 */
function copyLabels(labels: Labels): Record<string, string> {
  return Object.hasOwn(labels, '__proto__') ? { ...labels } : Object.assign({}, labels);
}

function sameLabels(a: Labels, b: Labels): boolean {
  let n = 0;
  for (const k in a) {
    if (!Object.hasOwn(b, k) || a[k] !== b[k]) return false;
    n++;
  }
  return Object.keys(b).length === n;
}
