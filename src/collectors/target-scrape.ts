/**
 * One HTTP target's scrape as a scrape worker runs it: fetch, decompression,
 * streamed parsing and series mapping, batch by batch of lines as the body
 * arrives, so a body, sample or label limit stops the read the moment it is
 * crossed. Plain data in (a `TargetSpec` can be posted to a worker), a `Batch`
 * out; a failed scrape still yields a batch (see SeriesMapper.fail).
 */
import type { RelabelConfig } from '../config/collectors.js';
import type { Labels } from '../tsdb/types.js';
import { DEFAULT_MAX_LINE_LENGTH, ExpositionParser, isOpenMetricsContentType, ParsedColumns } from './exposition.js';
import { discard, httpOpen, readBody, streamLines, type HttpAuth, type OpenResponse } from './http-client.js';
import type { FloatHistogram } from '../model/histogram.js';
import { isProtobufExposition, parseProtobufExposition, type ExposedSample } from './protobuf-exposition.js';
import type { ParsedSample } from './exposition.js';
import { compileRelabel } from './relabel.js';
import { SeriesMapper, type Batch, type MapperSettings } from './series-mapper.js';
import { scanExemplars, type RawExemplar } from './exemplar-scan.js';

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
  /** Accept header (scrape_protocols); absent: SCRAPE_ACCEPT. */
  accept?: string;
  /** Native histograms of a protobuf response are kept as such. */
  nativeHistograms?: boolean;
}

/**
 * What the API keeps from a scrape besides samples: TYPE/HELP/UNIT (sent
 * only when they changed since the target's previous scrape) and exemplars.
 */
export interface ScrapeObserved {
  metadata?: Array<[string, { type?: string; help?: string; unit?: string }]>;
  exemplars?: RawExemplar[];
}

export interface ScrapeOutcome {
  batch: Batch;
  observed?: ScrapeObserved;
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
  private observed(metadata: Map<string, { type?: string; help?: string; unit?: string }>, exemplars: RawExemplar[]): ScrapeObserved | undefined {
    const entries = [...metadata.entries()];
    const text = JSON.stringify(entries);
    const changed = text !== this.lastMetadata;
    this.lastMetadata = text;
    if (!changed && exemplars.length === 0) return undefined;
    return { ...(changed ? { metadata: entries } : {}), ...(exemplars.length ? { exemplars } : {}) };
  }

  /** One parser per target keeps what it remembers of the previous scrape warm. */
  private readonly parser = new ExpositionParser();
  /** The parser's samples on their way to the mapper, batch by batch of lines. */
  private readonly columns = new ParsedColumns();
  private readonly mapper: SeriesMapper;
  /** The last scrape succeeded: this one may hand over parts early. */
  private lastOk = false;
  /** Metadata as last handed over, to send it again only when it changes. */
  private lastMetadata = '';

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
        headers: { accept: spec.accept ?? SCRAPE_ACCEPT, 'x-prometheus-scrape-timeout-seconds': String(timeoutMs / 1000) },
      });
      if (res.status !== 200) {
        discard(res);
        throw new Error(`server returned HTTP status ${res.status}`);
      }
      if (isProtobufExposition(res.contentType)) {
        const metadata = new Map<string, { type?: string; help?: string }>();
        bytesRead = await this.scrapeProtobuf(res, busy, metadata);
        this.lastOk = true;
        return { batch: mapper.finish(), bytesRead, observed: this.observed(metadata, []) };
      }
      const openMetrics = isOpenMetricsContentType(res.contentType);
      const exemplars: RawExemplar[] = [];
      const columns = this.columns;
      columns.n = 0;
      parser.begin({ openMetrics, columns }, Math.max(0, res.contentLength));
      bytesRead = await streamLines(res, spec.bodyLimit, DEFAULT_MAX_LINE_LENGTH, (text) => {
        busy(true);
        try {
          parser.feed(text);
          if (openMetrics) scanExemplars(text, exemplars);
          mapper.addColumns(columns);
          columns.n = 0;
          // Parts only of a target that scraped fine last time, and only of series it already
          // had: what a hostile target sends (new series until a limit) never leaves the worker.
          if (onPart !== undefined && this.lastOk && mapper.pending >= PART_SAMPLES && mapper.pendingDefinitions === 0) onPart(mapper.part());
        } finally {
          busy(false);
        }
      });
      busy(true);
      const parsed = parser.finish();
      mapper.addColumns(columns);
      columns.n = 0;
      this.lastOk = true;
      return { batch: mapper.finish(), bytesRead, observed: this.observed(parsed.metadata, exemplars) };
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

  /**
   * A protobuf body: read whole (it is length-delimited binary, not lines),
   * then parsed and mapped; float samples and native histograms share the
   * mapper's relabeling, limits and references.
   */
  private async scrapeProtobuf(res: OpenResponse, busy: (on: boolean) => void, metadata: Map<string, { type?: string; help?: string }>): Promise<number> {
    const body = await readBody(res, this.spec.bodyLimit);
    busy(true);
    const floats: ParsedSample[] = [];
    const histograms: Array<ExposedSample & { value: FloatHistogram }> = [];
    for (const s of parseProtobufExposition(body, undefined, { nativeHistograms: this.spec.nativeHistograms ?? false, metadata })) {
      if (typeof s.value === 'number') floats.push(s as ParsedSample);
      else histograms.push(s as ExposedSample & { value: FloatHistogram });
    }
    this.mapper.add(floats);
    this.mapper.addHistograms(histograms);
    return body.length;
  }
}
