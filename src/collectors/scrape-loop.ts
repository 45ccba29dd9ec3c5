/**
 * One target's scrape loop with Prometheus semantics: a scrape per interval at a
 * fixed offset, `up` and `scrape_*` report series, job/instance labels (with
 * honor_labels conflict handling), metric relabeling, sample and label limits,
 * and staleness markers for series that vanish or when the target fails. What a
 * scrape collects is a `ScrapeSource`: an HTTP /metrics endpoint, a health probe,
 * or a database collector all share this loop.
 */
import type { Logger } from '../logger.js';
import { labelsKey } from '../model/labels.js';
import type { Appender, Labels, Storage } from '../tsdb/types.js';
import type { ParsedSample } from './exposition.js';
import { relabel, type CompiledRelabel } from './relabel.js';
import type { CollectorMetrics } from './self-metrics.js';
import type { ScrapeSource } from './source.js';

export type { ScrapeSource };

export interface LoopSettings {
  /** Final target labels (job, instance, static labels), nothing starting with `__`. */
  targetLabels: Labels;
  intervalMs: number;
  timeoutMs: number;
  honorLabels: boolean;
  honorTimestamps: boolean;
  metricRelabel: CompiledRelabel[];
  /** 0 = no limit. */
  sampleLimit: number;
  labelLimit: number;
  labelNameLengthLimit: number;
  labelValueLengthLimit: number;
}

interface FinalSeries {
  labels: Labels;
  key: string;
  /** Number of the last appendSamples() run that wrote this series. */
  seen: number;
  /** Held in `ScrapeLoop.interned` (false once pruned). */
  interned: boolean;
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
  /** Series written by the last successful scrape, for staleness markers. */
  private previous: FinalSeries[] = [];
  /** The run number that wrote `previous`. */
  private previousRun = 0;
  private run = 0;
  /** Parsed label object -> final series; valid while settings are unchanged. */
  private finalCache = new WeakMap<Labels, FinalSeries | null>();
  /**
   * One FinalSeries per final key, so the same series is the same object across
   * scrapes, parsed label objects and settings: staleness and duplicate checks
   * compare run numbers on it instead of looking long keys up in maps.
   */
  private interned = new Map<string, FinalSeries>();
  private reportCache = new Map<string, Labels>();
  private lastTime = -Infinity;
  lastError = '';
  lastScrapeTime = 0;
  lastHealth: 'up' | 'down' | 'unknown' = 'unknown';

  constructor(
    readonly key: string,
    settings: LoopSettings,
    private source: ScrapeSource,
    private readonly storage: Storage,
    private readonly logger: Logger,
    private readonly metrics?: CollectorMetrics,
  ) {
    this.settings = settings;
  }

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
  update(settings: LoopSettings, source?: ScrapeSource): void {
    const oldSource = this.source;
    const intervalChanged = settings.intervalMs !== this.settings.intervalMs;
    this.settings = settings;
    this.finalCache = new WeakMap();
    this.reportCache.clear();
    if (source && source !== oldSource) {
      this.source = source;
      void oldSource.close?.();
    }
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
      for (const fin of this.previous) safeStale(app, fin.labels, t);
      for (const name of REPORT_NAMES) safeStale(app, this.reportLabels(name), t);
      this.setPrevious([], ++this.run);
      await app.commit().catch((err: unknown) => this.logger.warn({ err }, 'committing staleness markers failed'));
    }
    await this.source.close?.();
  }

  private schedule(): void {
    const interval = this.settings.intervalMs;
    const now = Date.now();
    const offset = offsetFor(this.key, interval);
    let next = Math.floor(now / interval) * interval + offset;
    if (next <= now) next += interval;
    this.timer = setTimeout(() => this.tick(next), next - now);
    this.timer.unref?.();
  }

  private tick(scheduled: number): void {
    if (!this.running) return;
    this.schedule();
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
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error(`scrape timed out after ${s.timeoutMs}ms`)), s.timeoutMs);
    let samples: ParsedSample[] | undefined;
    let error: Error | undefined;
    try {
      samples = await raceAbort(this.source.collect(ac.signal, s.timeoutMs), ac.signal);
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    } finally {
      clearTimeout(timer);
    }
    let app = this.storage.appender();
    let current: FinalSeries[] = [];
    let run = ++this.run;
    let scraped = 0;
    let post = 0;
    let added = 0;
    if (samples) {
      scraped = samples.length;
      try {
        const r = this.appendSamples(app, samples, t, current, run);
        post = r.post;
        added = r.added;
      } catch (err) {
        error = err as Error;
        app.rollback();
        app = this.storage.appender();
        added = 0;
      }
    }
    if (error) {
      // A failed scrape ends every series of the target, as in Prometheus, except
      // the source's own failure samples (pg_up 0).
      current = [];
      run = ++this.run;
      const extra = this.source.failureSamples?.() ?? [];
      if (extra.length) {
        try {
          this.appendSamples(app, extra, t, current, run);
        } catch {
          current = [];
          run = ++this.run;
        }
      }
      this.lastError = error.message;
      this.lastHealth = 'down';
      this.logger.debug({ target: s.targetLabels, err: error.message }, 'scrape failed');
    } else {
      this.lastError = '';
      this.lastHealth = 'up';
    }
    for (const fin of this.previous) if (fin.seen !== run) safeStale(app, fin.labels, t);
    this.setPrevious(current, run);
    const duration = (performance.now() - started) / 1000;
    this.report(app, t, error ? 0 : 1, duration, scraped, post, added);
    this.lastScrapeTime = t;
    this.metrics?.observe(String(s.targetLabels.job ?? ''), !error, duration, post);
    try {
      await app.commit();
    } catch (err) {
      this.logger.warn({ err, target: s.targetLabels }, 'storing scrape failed');
    }
  }

  /** The run's written series go into `current`, each stamped with `run`. */
  private appendSamples(app: Appender, samples: ParsedSample[], t: number, current: FinalSeries[], run: number): { post: number; added: number } {
    const s = this.settings;
    const previousRun = this.previousRun;
    let post = 0;
    let added = 0;
    let outOfOrder = 0;
    for (const sample of samples) {
      let fin = this.finalCache.get(sample.labels);
      if (fin === undefined || (fin !== null && !fin.interned)) {
        fin = fin === undefined ? this.finalize(sample.labels) : this.intern(fin);
        this.finalCache.set(sample.labels, fin);
      }
      if (fin === null) continue;
      post++;
      if (s.sampleLimit > 0 && post > s.sampleLimit) {
        throw new Error(`sample limit exceeded (limit ${s.sampleLimit})`);
      }
      const seen = fin.seen;
      if (seen === run) continue; // duplicate after relabeling: first one wins
      const ts = s.honorTimestamps && sample.timestampMs !== undefined ? sample.timestampMs : t;
      try {
        app.append(fin.labels, ts, sample.value);
      } catch {
        outOfOrder++;
        continue;
      }
      fin.seen = run;
      current.push(fin);
      if (seen !== previousRun) added++;
    }
    if (outOfOrder) this.logger.debug({ target: s.targetLabels, count: outOfOrder }, 'samples rejected by storage (out of order or duplicate)');
    return { post, added };
  }

  /** Target labels, honor_labels handling, metric relabeling and label limits. */
  private finalize(scraped: Labels): FinalSeries | null {
    const s = this.settings;
    const out: Record<string, string> = { ...scraped };
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
      throw new Error(`label_limit exceeded (metric ${labels.__name__}: ${names.length} labels, limit ${s.labelLimit})`);
    }
    if (s.labelNameLengthLimit > 0 || s.labelValueLengthLimit > 0) {
      for (const n of names) {
        if (s.labelNameLengthLimit > 0 && n.length > s.labelNameLengthLimit) throw new Error(`label_name_length_limit exceeded (${labels.__name__}: ${n.slice(0, 40)})`);
        if (s.labelValueLengthLimit > 0 && labels[n].length > s.labelValueLengthLimit) throw new Error(`label_value_length_limit exceeded (${labels.__name__}: ${n})`);
      }
    }
    // Frozen, so storage may remember the series by the object's identity.
    return this.intern({ labels: Object.freeze(labels), key: labelsKey(labels), seen: -1, interned: false });
  }

  /** The interned series with `fin`'s key (`fin` itself when it is the first). */
  private intern(fin: FinalSeries): FinalSeries {
    const known = this.interned.get(fin.key);
    if (known !== undefined) return known;
    fin.interned = true;
    this.interned.set(fin.key, fin);
    return fin;
  }

  /** Records the series `run` wrote; forgets interned series it did not write. */
  private setPrevious(current: FinalSeries[], run: number): void {
    this.previous = current;
    this.previousRun = run;
    // Steady scrapes write exactly the interned series: nothing to sweep.
    if (this.interned.size === current.length) return;
    for (const [key, fin] of this.interned) {
      if (fin.seen !== run) {
        fin.interned = false;
        this.interned.delete(key);
      }
    }
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

function safeStale(app: Appender, labels: Labels, t: number): void {
  try {
    app.appendStale(labels, t);
  } catch {
    // Out of order against a newer sample: nothing to end.
  }
}

/** Rejects as soon as the signal aborts, even if the source ignores it. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}
