/**
 * One target's scrape loop with Prometheus semantics: a scrape per interval at a
 * fixed offset, `up` and `scrape_*` report series, staleness markers for series
 * that vanish or when the target fails. The scrape itself (fetch, parsing,
 * relabeling, limits) is a `BatchSource`: a scrape worker for HTTP targets, or
 * an in-thread adapter for probes and database collectors. The loop runs on
 * the main thread and only turns batches into appends: it keeps the labels of
 * each series reference and the references the last scrape wrote.
 */
import type { Logger } from '../logger.js';
import { labelsKey } from '../model/labels.js';
import type { Appender, Labels, SeriesHandle, Storage } from '../tsdb/types.js';
import type { CollectorMetrics } from './self-metrics.js';
import type { Batch, MapperSettings } from './series-mapper.js';
import type { ScrapeSource } from './source.js';
import type { ScrapeObserved, ScrapeOutcome } from './target-scrape.js';

export type { ScrapeSource };

export interface LoopSettings extends MapperSettings {
  intervalMs: number;
  timeoutMs: number;
  /** HTTP targets: the Accept header (scrape_protocols); absent: text formats only. */
  accept?: string;
  /** HTTP targets: native histograms from the protobuf format are kept (scrape_native_histograms). */
  nativeHistograms?: boolean;
}

/** What a loop scrapes: resolves with the outcome of every scrape, failed ones included; rejects only when the scrape was lost. */
export interface BatchSource {
  /** `onPart` (optional for the source) takes parts of the batch before the outcome, which then holds the rest. */
  scrape(timeoutMs: number, onPart?: (b: Batch) => void): Promise<ScrapeOutcome>;
  /** New settings for the same target (config reload). */
  configure(settings: LoopSettings): void;
  close?(): Promise<void>;
}

/** The cap on series in the head, checked before a scrape adds series. */
export interface SeriesCap {
  /** 0 = no cap. */
  readonly limit: number;
  /** Series in the head now. */
  current(): number;
  /** Counts a scrape refused by the cap. */
  reached(job: string): void;
}

const REPORT_NAMES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added'];

/** FNV-1a of a string: a target's stable scrape offset within the interval. */
export function offsetFor(key: string, intervalMs: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return (h >>> 0) % Math.max(1, intervalMs);
}

export class ScrapeLoop {
  private settings: LoopSettings;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private inFlight: Promise<void> | undefined;
  /** Labels of each series reference the source defined (frozen: the store may key on identity). */
  private labels: Labels[] = [];
  /** Per reference: the store's handle of its series (Appender.appendTo), once it has one. */
  private handles: Array<SeriesHandle | undefined> = [];
  /** References the last scrape wrote, for staleness markers. */
  private previous: Int32Array = new Int32Array(0);
  /** Per reference: the scrape number that last wrote it. */
  private stamp = new Int32Array(0);
  private run = 0;
  private reportCache = new Map<string, Labels>();
  /** Label names and short values repeat across series: one string each. */
  private strings = new Map<string, string>();
  private lastTime = -Infinity;
  lastError = '';
  lastScrapeTime = 0;
  lastDurationSeconds: number | undefined;
  lastHealth: 'up' | 'down' | 'unknown' = 'unknown';

  constructor(
    readonly key: string,
    settings: LoopSettings,
    private source: BatchSource,
    private readonly storage: Storage,
    private readonly logger: Logger,
    private readonly metrics?: CollectorMetrics,
    private readonly cap?: SeriesCap,
  ) {
    this.settings = settings;
  }

  /** Receives what a scrape observed besides samples (metadata, exemplars): set by the collectors for the API. */
  onObserved?: (target: { key: string; labels: Labels }, observed: ScrapeObserved) => void;

  get targetLabels(): Labels {
    return this.settings.targetLabels;
  }

  get interval(): number {
    return this.settings.intervalMs;
  }

  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.schedule();
  }

  /**
   * New settings or source for the same target (config reload): staleness state
   * is kept, so series that the new settings no longer produce get markers.
   */
  update(settings: LoopSettings, source?: BatchSource): void {
    const oldSource = this.source;
    const intervalChanged = settings.intervalMs !== this.settings.intervalMs;
    this.settings = settings;
    this.reportCache.clear();
    if (source && source !== oldSource) {
      this.source = source;
      // A new source numbers its series afresh: end the old ones by key on its first batch.
      void oldSource.close?.();
    }
    this.source.configure(settings);
    if (intervalChanged && this.running) {
      clearTimeout(this.timer);
      this.schedule();
    }
  }

  /** Stops scraping; by default marks every series of the target stale. */
  async stop(markStale = true): Promise<void> {
    this.stopped = true;
    this.running = false;
    clearTimeout(this.timer);
    await this.inFlight;
    if (markStale && this.previous.length) {
      const app = this.storage.appender();
      const t = Math.max(Date.now(), this.lastTime + 1);
      for (const ref of this.previous) safeStale(app, this.labels[ref], t);
      for (const name of REPORT_NAMES) safeStale(app, this.reportLabels(name), t);
      this.previous = new Int32Array(0);
      await app.commit().catch((err: unknown) => this.logger.warn({ err }, 'committing staleness markers failed'));
    }
    await this.source.close?.();
  }

  /** Arms the timer for the next grid point after now and after `done` (the tick just run). */
  private schedule(done = -Infinity): void {
    const interval = this.settings.intervalMs;
    const now = Date.now();
    const offset = offsetFor(this.key, interval);
    let next = Math.floor(now / interval) * interval + offset;
    // A timer may fire a millisecond before its time by the wall clock; without
    // the `done` check that grid point would be scheduled, and scraped, twice.
    while (next <= now || next <= done) next += interval;
    this.timer = setTimeout(() => this.tick(next), next - now);
    this.timer.unref?.();
  }

  private tick(scheduled: number): void {
    if (!this.running) return;
    this.schedule(scheduled);
    if (this.inFlight) return; // the previous scrape is still running: skip, as Prometheus does
    void this.scrapeOnce(scheduled);
  }

  /** Runs one scrape at timestamp `t` (ms), after any scrape in flight. */
  async scrapeOnce(t?: number): Promise<void> {
    while (this.inFlight) await this.inFlight;
    // Nothing a target sends may crash the process: log and carry on.
    const run = this.scrape(t ?? Date.now()).catch((err: unknown) => this.logger.error({ err, target: this.settings.targetLabels }, 'scrape crashed'));
    this.inFlight = run.finally(() => {
      if (this.inFlight === guarded) this.inFlight = undefined;
    });
    const guarded = this.inFlight;
    await guarded;
  }

  private async scrape(t: number): Promise<void> {
    // Timestamps must increase even if the clock steps back.
    if (t <= this.lastTime) t = this.lastTime + 1;
    this.lastTime = t;
    const s = this.settings;
    const started = performance.now();
    let app = this.storage.appender();
    let run = ++this.run;
    let written: Int32Array[] = [];
    let capError: string | undefined;
    this.previousLabels = [];
    this.renumbered = false;
    this.defined = [];
    // Parts arrive while the worker still parses: each is appended at once.
    const take = (b: Batch) => {
      this.define(b);
      if (capError !== undefined) return;
      capError = this.overCap(b);
      if (capError !== undefined) return;
      this.append(app, b, t, run);
      written.push(b.refs);
      if (b.hRefs !== undefined) written.push(b.hRefs);
    };
    let outcome: ScrapeOutcome | undefined;
    let error: string | undefined;
    try {
      outcome = await this.source.scrape(s.timeoutMs, take);
      error = outcome.error;
      if (outcome.observed) this.onObserved?.({ key: this.key, labels: s.targetLabels }, outcome.observed);
      take(outcome.batch);
    } catch (err) {
      error = (err as Error).message ?? String(err);
    }
    error ??= capError;
    const batch = outcome?.batch;
    if (error) {
      // Nothing of a failed scrape is stored but the source's own failure samples (pg_up 0).
      app.rollback();
      app = this.storage.appender();
      run = ++this.run;
      written = [];
      if (batch && capError === undefined && batch.refs.length) {
        this.append(app, batch, t, run);
        written.push(batch.refs);
      }
    }
    const all = concat(written);
    if (this.renumbered) this.staleByKey(app, all, t);
    else {
      // Indexed, not for-of: this runs once per scrape, too rarely for V8 to optimise, and
      // unoptimised for-of over a typed array allocates a result object per element (about
      // 5 MB of garbage per 100k-series scrape).
      const previous = this.previous;
      const stamp = this.stamp;
      for (let i = 0; i < previous.length; i++) if (stamp[previous[i]] !== run) safeStale(app, this.labels[previous[i]], t);
    }
    this.previousLabels = [];
    this.previous = all;
    if (error) {
      this.lastError = error;
      this.lastHealth = 'down';
      this.logger.debug({ target: s.targetLabels, err: error }, 'scrape failed');
    } else {
      this.lastError = '';
      this.lastHealth = 'up';
    }
    const duration = (performance.now() - started) / 1000;
    const ok = !error;
    this.report(app, t, ok ? 1 : 0, duration, ok ? (batch?.scraped ?? 0) : 0, ok ? (batch?.post ?? 0) : 0, ok ? (batch?.added ?? 0) : 0);
    this.lastScrapeTime = t;
    this.lastDurationSeconds = duration;
    this.metrics?.observe(String(s.targetLabels.job ?? ''), ok, duration, ok ? all.length : 0);
    try {
      await app.commit();
      this.takeStoredLabels();
    } catch (err) {
      this.logger.warn({ err, target: s.targetLabels }, 'storing scrape failed');
    }
  }

  /** References defined by the current scrape's batches. */
  private defined: number[] = [];

  /** New series' labels become the store's own copies (see Storage.storedLabels). */
  private takeStoredLabels(): void {
    const defined = this.defined;
    this.defined = [];
    if (this.storage.storedLabels === undefined) return;
    for (const ref of defined) {
      const own = this.labels[ref];
      if (own === undefined) continue;
      const stored = this.storage.storedLabels(own);
      // The store leaves out empty values; such a set stays the loop's own, so label keys still compare.
      if (stored !== undefined && Object.keys(stored).length === Object.keys(own).length) {
        this.labels[ref] = stored;
        this.handles[ref] = undefined;
      }
    }
  }

  /** Labels of the previous scrape's series when a fresh batch renumbers them. */
  private previousLabels: Labels[] = [];
  /** The current scrape had a fresh batch: staleness goes by label set, not reference. */
  private renumbered = false;

  /** Records the batch's new references. A fresh batch starts the table over. */
  private define(b: Batch): void {
    if (b.fresh) {
      if (!this.renumbered) this.previousLabels = Array.from(this.previous, (r) => this.labels[r]);
      this.renumbered = true;
      this.previous = new Int32Array(0);
      this.labels = [];
      this.handles = [];
    }
    const pairs = b.defPairs;
    // Each distinct string of the batch is looked up once, not once per series using it.
    const strings = b.defStrings.map((x) => this.shared(x));
    let p = 0;
    for (let d = 0; d < b.defRefs.length; d++) {
      const l: Record<string, string> = {};
      for (let k = b.defCounts[d]; k > 0; k--, p += 2) {
        // defineProperty: a label called __proto__ must stay a label.
        Object.defineProperty(l, strings[pairs[p]], { value: strings[pairs[p + 1]], enumerable: true, writable: false, configurable: false });
      }
      this.labels[b.defRefs[d]] = Object.freeze(l);
      this.handles[b.defRefs[d]] = undefined;
      this.defined.push(b.defRefs[d]);
    }
    if (this.stamp.length < this.labels.length) {
      const s = new Int32Array(Math.max(this.labels.length, this.stamp.length * 2));
      s.set(this.stamp);
      this.stamp = s;
    }
  }

  private shared(s: string): string {
    if (s.length > 64) return s;
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    // Bounded: a target with ever-new values must not grow it without end.
    if (this.strings.size >= 100_000) this.strings.clear();
    this.strings.set(s, s);
    return s;
  }

  /** An error when the batch's new series would take the head past the cap. */
  private overCap(b: Batch): string | undefined {
    const cap = this.cap;
    if (!cap || cap.limit <= 0 || b.defRefs.length === 0) return undefined;
    const now = cap.current();
    if (now + b.defRefs.length <= cap.limit) return undefined;
    cap.reached(String(this.settings.targetLabels.job ?? ''));
    return `head series limit reached: ${now} series in the head, this scrape adds up to ${b.defRefs.length}, limit ${cap.limit} (storage.max_series)`;
  }

  /** Appends a batch (or part): parts of a worker's batch are small, each arrives as its own event. */
  private append(app: Appender, b: Batch, t: number, run: number): void {
    const { refs, values, ts } = b;
    const labels = this.labels;
    const handles = this.handles;
    const stamp = this.stamp;
    // By handle where the store offers it: finding 100k series by their labels every scrape costs more than appending.
    const appendTo = app.appendTo?.bind(app);
    let rejected = 0;
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i];
      stamp[ref] = run;
      const st = ts[i];
      try {
        if (appendTo !== undefined) handles[ref] = appendTo(handles[ref], labels[ref], st === st ? st : t, values[i]);
        else app.append(labels[ref], st === st ? st : t, values[i]);
      } catch {
        rejected++;
      }
    }
    const { hRefs, hTs, histograms } = b;
    if (hRefs !== undefined && hTs !== undefined && histograms !== undefined) {
      for (let i = 0; i < hRefs.length; i++) {
        const ref = hRefs[i];
        stamp[ref] = run;
        const st = hTs[i];
        try {
          // A store without native histograms refuses them like any other rejected sample.
          if (app.appendHistogram === undefined) throw new Error('native histograms not supported');
          app.appendHistogram(labels[ref], st === st ? st : t, histograms[i]);
        } catch {
          rejected++;
        }
      }
    }
    if (rejected) this.logger.debug({ target: this.settings.targetLabels, count: rejected }, 'samples rejected by storage (out of order or duplicate)');
  }

  /** Staleness after renumbering: previous series whose labels the new scrape did not write end. */
  private staleByKey(app: Appender, written: Int32Array, t: number): void {
    // A first scrape has nothing to end: a key per written series would be 100k
    // strings of garbage, outliving the scrape into the old generation.
    if (this.previousLabels.length === 0) return;
    if (written.length === 0) {
      for (const l of this.previousLabels) safeStale(app, l, t);
      return;
    }
    const keep = new Set<string>();
    for (const ref of written) keep.add(labelsKey(this.labels[ref]));
    for (const l of this.previousLabels) if (l !== undefined && !keep.has(labelsKey(l))) safeStale(app, l, t);
  }

  private reportLabels(name: string): Labels {
    let l = this.reportCache.get(name);
    if (!l) {
      l = Object.freeze({ ...this.settings.targetLabels, __name__: name });
      this.reportCache.set(name, l);
    }
    return l;
  }

  private report(app: Appender, t: number, up: number, duration: number, scraped: number, post: number, added: number): void {
    const values = [up, duration, scraped, post, added];
    REPORT_NAMES.forEach((name, i) => {
      try {
        app.append(this.reportLabels(name), t, values[i]);
      } catch (err) {
        this.logger.debug({ err, name }, 'report sample rejected');
      }
    });
  }
}

function concat(parts: Int32Array[]): Int32Array {
  if (parts.length === 1) return parts[0];
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Int32Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}

function safeStale(app: Appender, labels: Labels | undefined, t: number): void {
  if (labels === undefined) return;
  try {
    app.appendStale(labels, t);
  } catch {
    // Out of order against a newer sample: nothing to end.
  }
}
