/**
 * The kinds of `BatchSource` a scrape loop runs: HTTP targets scraped by a
 * worker of the scrape pool; Vigil's own metrics, scraped over HTTP on the
 * main thread; and in-thread sources (health probes, database collectors:
 * small, and mostly waiting on I/O) mapped by a SeriesMapper here.
 */
import type { ScrapeConfig } from '../config/collectors.js';
import type { BatchSource, LoopSettings } from './scrape-loop.js';
import type { ScrapePool } from './scrape-pool.js';
import { withScrapeTimeout } from './scrape-timeout.js';
import { SeriesMapper, type Batch, type MapperSettings } from './series-mapper.js';
import type { ScrapeSource } from './source.js';
import { TargetScraper, type ScrapeOutcome, type TargetSpec } from './target-scrape.js';

function mapperSettings(s: LoopSettings): MapperSettings {
  return {
    targetLabels: s.targetLabels,
    honorLabels: s.honorLabels,
    honorTimestamps: s.honorTimestamps,
    metricRelabel: s.metricRelabel,
    sampleLimit: s.sampleLimit,
    labelLimit: s.labelLimit,
    labelNameLengthLimit: s.labelNameLengthLimit,
    labelValueLengthLimit: s.labelValueLengthLimit,
  };
}

function targetSpec(url: string, c: ScrapeConfig, bodyLimit: number, s: LoopSettings): TargetSpec {
  return {
    url,
    http: { basic_auth: c.basic_auth, authorization: c.authorization, tls_config: c.tls_config, follow_redirects: c.follow_redirects },
    bodyLimit,
    targetLabels: s.targetLabels,
    honorLabels: s.honorLabels,
    honorTimestamps: s.honorTimestamps,
    metricRelabelConfigs: s.metricRelabel.map((r) => r.cfg),
    sampleLimit: s.sampleLimit,
    labelLimit: s.labelLimit,
    labelNameLengthLimit: s.labelNameLengthLimit,
    labelValueLengthLimit: s.labelValueLengthLimit,
    ...(s.accept !== undefined ? { accept: s.accept } : {}),
    nativeHistograms: s.nativeHistograms ?? false,
  };
}

/** An HTTP target scraped in the pool; `key` identifies it there. */
export class PooledSource implements BatchSource {
  private spec: TargetSpec;

  constructor(
    private readonly pool: ScrapePool,
    private readonly key: string,
    private readonly url: string,
    private readonly cfg: ScrapeConfig,
    private readonly bodyLimit: number,
    settings: LoopSettings,
  ) {
    this.spec = targetSpec(this.url, this.cfg, this.bodyLimit, settings);
  }

  configure(settings: LoopSettings): void {
    // A new object: the pool sends it to the worker again.
    this.spec = targetSpec(this.url, this.cfg, this.bodyLimit, settings);
  }

  scrape(timeoutMs: number, onPart?: (b: Batch) => void): Promise<ScrapeOutcome> {
    return this.pool.scrape(this.key, this.spec, timeoutMs, onPart);
  }

  async close(): Promise<void> {
    this.pool.release(this.key);
  }
}

/**
 * Vigil's own metrics, scraped over HTTP on the main thread. The endpoint is
 * Vigil's and small (a few thousand series): it needs no isolation from the
 * main thread, and a worker thread of its own would cost about 10 MB of heap
 * and code, often the only worker a server has.
 */
export class InThreadSource implements BatchSource {
  private readonly scraper: TargetScraper;

  constructor(
    private readonly url: string,
    private readonly cfg: ScrapeConfig,
    private readonly bodyLimit: number,
    settings: LoopSettings,
  ) {
    this.scraper = new TargetScraper(targetSpec(url, cfg, bodyLimit, settings));
  }

  configure(settings: LoopSettings): void {
    this.scraper.configure(targetSpec(this.url, this.cfg, this.bodyLimit, settings));
  }

  scrape(timeoutMs: number, onPart?: (b: Batch) => void): Promise<ScrapeOutcome> {
    return withScrapeTimeout(timeoutMs, (signal) => this.scraper.scrape(signal, timeoutMs, undefined, onPart));
  }

  async close(): Promise<void> {}
}

/** A ScrapeSource run on the main thread, its samples mapped in place. */
export class LocalSource implements BatchSource {
  private readonly mapper: SeriesMapper;

  constructor(
    private readonly source: ScrapeSource,
    settings: LoopSettings,
  ) {
    this.mapper = new SeriesMapper(mapperSettings(settings));
  }

  configure(settings: LoopSettings): void {
    this.mapper.update(mapperSettings(settings));
  }

  scrape(timeoutMs: number): Promise<ScrapeOutcome> {
    const mapper = this.mapper;
    return withScrapeTimeout(timeoutMs, async (signal) => {
      try {
        const samples = await raceAbort(this.source.collect(signal, timeoutMs), signal);
        mapper.begin();
        mapper.add(samples);
        return { batch: mapper.finish(), bytesRead: 0 };
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        // The source's own failure samples (pg_up 0) are still written, next to up 0.
        return { batch: mapper.fail(this.source.failureSamples?.() ?? []), error: message, bytesRead: 0 };
      }
    });
  }

  async close(): Promise<void> {
    await this.source.close?.();
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
