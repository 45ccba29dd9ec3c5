/**
 * One HTTP target's scrape as a scrape worker runs it: fetch, decompression,
 * streamed parsing and series mapping, batch by batch of lines as the body
 * arrives, so a body, sample or label limit stops the read the moment it is
 * crossed. Plain data in (a `TargetSpec` can be posted to a worker), a `Batch`
 * out; a failed scrape still yields a batch (see SeriesMapper.fail).
 */
import type { RelabelConfig } from '../config/collectors.js';
import type { Labels } from '../tsdb/types.js';
import { DEFAULT_MAX_LINE_LENGTH, ExpositionParser, isOpenMetricsContentType } from './exposition.js';
import { discard, httpOpen, streamLines, type HttpAuth } from './http-client.js';
import { compileRelabel } from './relabel.js';
import { SeriesMapper, type Batch, type MapperSettings } from './series-mapper.js';

/** Samples per part handed to the store while parsing goes on: appending overlaps parsing. */
const PART_SAMPLES = 16_384;

/** Prometheus 2.42's Accept header: OpenMetrics preferred, text 0.0.4 accepted. */
export const SCRAPE_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/** Everything a worker needs to scrape a target; structured-clone safe. */
export interface TargetSpec {
  url: string;
  http: HttpAuth;
  /** Decompressed bytes; 0 = no limit. */
  bodyLimit: number;
  targetLabels: Labels;
  honorLabels: boolean;
  honorTimestamps: boolean;
  metricRelabelConfigs: RelabelConfig[];
  sampleLimit: number;
  labelLimit: number;
  labelNameLengthLimit: number;
  labelValueLengthLimit: number;
}

export interface ScrapeOutcome {
  batch: Batch;
  /** Why the scrape failed; undefined when it succeeded. */
  error?: string;
  /** Decompressed body bytes received. */
  bytesRead: number;
}

function mapperSettings(spec: TargetSpec): MapperSettings {
  return {
    targetLabels: spec.targetLabels,
    honorLabels: spec.honorLabels,
    honorTimestamps: spec.honorTimestamps,
    metricRelabel: compileRelabel(spec.metricRelabelConfigs),
    sampleLimit: spec.sampleLimit,
    labelLimit: spec.labelLimit,
    labelNameLengthLimit: spec.labelNameLengthLimit,
    labelValueLengthLimit: spec.labelValueLengthLimit,
  };
}

export class TargetScraper {
  /** One parser per target keeps what it remembers of the previous scrape warm. */
  private readonly parser = new ExpositionParser();
  private readonly mapper: SeriesMapper;
  /** The last scrape succeeded: this one may hand over parts early. */
  private lastOk = false;

  constructor(private spec: TargetSpec) {
    this.mapper = new SeriesMapper(mapperSettings(spec));
  }

  configure(spec: TargetSpec): void {
    this.spec = spec;
    this.mapper.update(mapperSettings(spec));
  }

  /**
   * `busy` is told when the scrape starts and stops using the thread (the pool
   * blames it if the thread dies then); `onPart` receives parts of the batch
   * as the body is parsed (the outcome then carries only the rest).
   */
  async scrape(signal: AbortSignal, timeoutMs: number, busy: (on: boolean) => void = () => {}, onPart?: (b: Batch) => void): Promise<ScrapeOutcome> {
    const { spec, parser, mapper } = this;
    mapper.begin();
    let bytesRead = 0;
    try {
      const res = await httpOpen(spec.url, {
        ...spec.http,
        signal,
        bodyLimit: spec.bodyLimit,
        headers: { accept: SCRAPE_ACCEPT, 'x-prometheus-scrape-timeout-seconds': String(timeoutMs / 1000) },
      });
      if (res.status !== 200) {
        discard(res);
        throw new Error(`server returned HTTP status ${res.status}`);
      }
      parser.begin({ openMetrics: isOpenMetricsContentType(res.contentType) }, Math.max(0, res.contentLength));
      bytesRead = await streamLines(res, spec.bodyLimit, DEFAULT_MAX_LINE_LENGTH, (text) => {
        busy(true);
        try {
          parser.feed(text);
          mapper.add(parser.takeSamples());
          // Parts only of a target that scraped fine last time, and only of series it already
          // had: what a hostile target sends (new series until a limit) never leaves the worker.
          if (onPart !== undefined && this.lastOk && mapper.pending >= PART_SAMPLES && mapper.pendingDefinitions === 0) onPart(mapper.part());
        } finally {
          busy(false);
        }
      });
      busy(true);
      mapper.add(parser.finish().samples);
      this.lastOk = true;
      return { batch: mapper.finish(), bytesRead };
    } catch (err) {
      this.lastOk = false;
      parser.abandon();
      const e = signal.aborted ? (signal.reason as Error) : (err as Error & { bytesRead?: number });
      bytesRead = (err as { bytesRead?: number }).bytesRead ?? bytesRead;
      return { batch: mapper.fail(), error: e instanceof Error ? e.message : String(e), bytesRead };
    } finally {
      busy(false);
    }
  }
}
