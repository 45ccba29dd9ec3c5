/**
 * Turns `scrape_configs` into targets the way Prometheus does: discovery labels
 * (`__address__`, `__scheme__`, `__metrics_path__`, `__param_*`, ...), then
 * `relabel_configs`, then `instance` defaulting to the address and the `__`
 * labels removed. Also the HTTP scrape source that fetches and parses a target.
 */
import type { ScrapeConfig } from '../config/collectors.js';
import { formatDuration } from '../config/duration.js';
import { labelsKey } from '../tsdb/matchers.js';
import type { Labels } from '../tsdb/types.js';
import { ExpositionParser, isOpenMetricsContentType, type ParsedSample, type ParseResult } from './exposition.js';
import { httpGet } from './http-client.js';
import { compileRelabel, relabel } from './relabel.js';
import type { LoopSettings, ScrapeSource } from './scrape-loop.js';

/** Prometheus 2.42's Accept header: OpenMetrics preferred, text 0.0.4 accepted. */
export const SCRAPE_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

export interface GlobalDefaults {
  scrape_interval: number;
  scrape_timeout: number;
  body_size_limit?: number;
  sample_limit?: number;
}

export interface ScrapeTarget {
  key: string;
  url: string;
  settings: LoopSettings;
  config: ScrapeConfig;
  bodyLimit: number;
}

export function intervalsFor(c: { scrape_interval?: number; scrape_timeout?: number }, g: GlobalDefaults): { intervalMs: number; timeoutMs: number } {
  const intervalMs = c.scrape_interval ?? g.scrape_interval;
  // As in Prometheus: the global timeout, capped by the job's interval.
  const timeoutMs = c.scrape_timeout ?? Math.min(g.scrape_timeout, intervalMs);
  return { intervalMs, timeoutMs };
}

/** The targets of one scrape config; `errors` lists targets dropped as invalid. */
export function buildScrapeTargets(cfg: ScrapeConfig, g: GlobalDefaults): { targets: ScrapeTarget[]; errors: string[] } {
  const { intervalMs, timeoutMs } = intervalsFor(cfg, g);
  const steps = compileRelabel(cfg.relabel_configs);
  const metricRelabel = compileRelabel(cfg.metric_relabel_configs);
  const groups = [...cfg.static_configs];
  if (cfg.targets?.length) groups.push({ targets: cfg.targets, labels: {} });
  const targets: ScrapeTarget[] = [];
  const errors: string[] = [];
  const seen = new Set<string>();
  for (const group of groups) {
    for (const address of group.targets) {
      const base: Record<string, string> = {
        job: cfg.job_name,
        ...group.labels,
        __address__: address,
        __scheme__: cfg.scheme,
        __metrics_path__: cfg.metrics_path,
        __scrape_interval__: formatDuration(intervalMs),
        __scrape_timeout__: formatDuration(timeoutMs),
      };
      for (const [k, v] of Object.entries(cfg.params)) if (v.length) base[`__param_${k}`] = v[0];
      const labels = relabel(base, steps);
      if (!labels) continue;
      const addr = labels.__address__;
      if (!addr) {
        errors.push(`${cfg.job_name}: target ${address} has no __address__ after relabeling`);
        continue;
      }
      if (/[/?#\s]/.test(addr)) {
        errors.push(`${cfg.job_name}: invalid __address__ "${addr}" after relabeling`);
        continue;
      }
      const scheme = labels.__scheme__ === 'https' ? 'https' : 'http';
      const path = labels.__metrics_path__ || '/metrics';
      const params = new URLSearchParams();
      for (const [k, vs] of Object.entries(cfg.params)) for (const v of vs) params.append(k, v);
      for (const [k, v] of Object.entries(labels)) if (k.startsWith('__param_')) params.set(k.slice(8), v);
      const qs = params.toString();
      const url = `${scheme}://${addr}${path.startsWith('/') ? path : '/' + path}${qs ? '?' + qs : ''}`;
      const finalLabels: Record<string, string> = {};
      for (const [k, v] of Object.entries(labels)) if (!k.startsWith('__') && v !== '') finalLabels[k] = v;
      finalLabels.instance ||= addr;
      finalLabels.job ||= cfg.job_name;
      const key = `scrape|${cfg.job_name}|${url}|${labelsKey(finalLabels)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      targets.push({
        key,
        url,
        config: cfg,
        bodyLimit: cfg.body_size_limit ?? g.body_size_limit ?? 0,
        settings: {
          targetLabels: finalLabels,
          intervalMs,
          timeoutMs,
          honorLabels: cfg.honor_labels,
          honorTimestamps: cfg.honor_timestamps,
          metricRelabel,
          sampleLimit: cfg.sample_limit || g.sample_limit || 0,
          labelLimit: cfg.label_limit,
          labelNameLengthLimit: cfg.label_name_length_limit,
          labelValueLengthLimit: cfg.label_value_length_limit,
        },
      });
    }
  }
  if (cfg.target_limit > 0 && targets.length > cfg.target_limit) {
    errors.push(`${cfg.job_name}: ${targets.length} targets exceed target_limit ${cfg.target_limit}; none scraped`);
    return { targets: [], errors };
  }
  return { targets, errors };
}

/** Fetches a /metrics endpoint and parses it; one parser per target keeps its cache warm. */
/**
 * Observers of successful HTTP scrapes, outside the scrape path's own work:
 * the API keeps TYPE/HELP/UNIT and OpenMetrics exemplars from them.
 */
export interface ScrapeHooks {
  onParsed?(result: ParseResult, body: string, openMetrics: boolean): void;
}

export class HttpScrapeSource implements ScrapeSource {
  private readonly parser = new ExpositionParser();

  constructor(
    readonly url: string,
    private readonly cfg: ScrapeConfig,
    private readonly bodyLimit: number,
    private readonly onParsed?: ScrapeHooks['onParsed'],
  ) {}

  async collect(signal: AbortSignal, timeoutMs: number): Promise<ParsedSample[]> {
    const res = await httpGet(this.url, {
      ...this.cfg,
      signal,
      bodyLimit: this.bodyLimit,
      headers: { accept: SCRAPE_ACCEPT, 'x-prometheus-scrape-timeout-seconds': String(timeoutMs / 1000) },
    });
    if (res.status !== 200) throw new Error(`server returned HTTP status ${res.status}`);
    const openMetrics = isOpenMetricsContentType(res.contentType);
    const parsed = this.parser.parse(res.body, { openMetrics });
    this.onParsed?.(parsed, res.body, openMetrics);
    return parsed.samples;
  }
}

export function describeTarget(labels: Labels): string {
  return `${labels.job ?? ''}/${labels.instance ?? ''}`;
}
