/**
 * Turns a scrape pool's target groups into targets the way Prometheus does:
 * discovery labels (`__address__`, `__scheme__`, `__metrics_path__`,
 * `__param_*`, ...), then `relabel_configs`, then `instance` defaulting to the
 * address and the `__` labels removed.
 */
import type { ScrapeConfig, ScrapeProtocol } from '../config/collectors.js';
import type { TargetGroup } from '../discovery/types.js';
import { formatDuration } from '../model/duration.js';
import { labelsKey } from '../model/labels.js';
import type { Labels } from '../tsdb/types.js';
import { scrapeLimits } from './limits.js';
import { compileRelabel, relabel } from './relabel.js';
import { scrapeNegotiation } from './scrape-protocols.js';
import type { LoopSettings } from './scrape-loop.js';

export interface GlobalDefaults {
  scrape_interval: number;
  scrape_timeout: number;
  body_size_limit?: number;
  sample_limit?: number;
  scrape_protocols?: ScrapeProtocol[];
  scrape_native_histograms?: boolean;
}

export interface ScrapeTarget {
  key: string;
  url: string;
  settings: LoopSettings;
  config: ScrapeConfig;
  bodyLimit: number;
  /** Labels before relabeling, as `/api/v1/targets` shows them. */
  discoveredLabels: Labels;
}

export function intervalsFor(c: { scrape_interval?: number; scrape_timeout?: number }, g: GlobalDefaults): { intervalMs: number; timeoutMs: number } {
  const intervalMs = c.scrape_interval ?? g.scrape_interval;
  // As in Prometheus: the global timeout, capped by the job's interval.
  const timeoutMs = c.scrape_timeout ?? Math.min(g.scrape_timeout, intervalMs);
  return { intervalMs, timeoutMs };
}

export interface PoolTargets {
  targets: ScrapeTarget[];
  /** Targets relabeling dropped: their discovered labels. */
  dropped: Labels[];
  /** Targets dropped as invalid. */
  errors: string[];
}

/**
 * The targets of one scrape pool from its target groups (static and
 * discovered), with Prometheus's PopulateLabels: group labels under target
 * labels, the scrape defaults where missing, `relabel_configs`, then
 * `instance` defaulting to the address and the `__` labels removed.
 */
export function buildScrapeTargets(cfg: ScrapeConfig, g: GlobalDefaults, groups: readonly TargetGroup[]): PoolTargets {
  const { intervalMs, timeoutMs } = intervalsFor(cfg, g);
  const steps = compileRelabel(cfg.relabel_configs);
  const metricRelabel = compileRelabel(cfg.metric_relabel_configs);
  const limits = scrapeLimits(cfg, g);
  const negotiation = scrapeNegotiation(cfg, g);
  const targets: ScrapeTarget[] = [];
  const dropped: Labels[] = [];
  const errors: string[] = [];
  const seen = new Set<string>();
  const defaults: Record<string, string> = {
    job: cfg.job_name,
    __scrape_interval__: formatDuration(intervalMs),
    __scrape_timeout__: formatDuration(timeoutMs),
    __metrics_path__: cfg.metrics_path,
    __scheme__: cfg.scheme,
  };
  for (const [k, v] of Object.entries(cfg.params)) if (v.length) defaults[`__param_${k}`] = v[0];
  for (const group of groups) {
    for (const t of group.targets) {
      const base: Record<string, string> = { ...group.labels, ...t };
      for (const [k, v] of Object.entries(defaults)) if (base[k] === undefined || base[k] === '') base[k] = v;
      for (const k of Object.keys(base)) if (base[k] === '') delete base[k];
      const discoveredLabels = Object.freeze(base);
      const labels = relabel(base, steps);
      if (!labels) {
        dropped.push(discoveredLabels);
        continue;
      }
      const addr = labels.__address__;
      if (!addr) {
        errors.push(`${cfg.job_name}: target ${t.__address__ ?? ''} has no __address__ after relabeling`);
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
        discoveredLabels,
        bodyLimit: limits.bodyLimit,
        settings: {
          targetLabels: finalLabels,
          intervalMs,
          timeoutMs,
          honorLabels: cfg.honor_labels,
          honorTimestamps: cfg.honor_timestamps,
          metricRelabel,
          sampleLimit: limits.sampleLimit,
          labelLimit: limits.labelLimit,
          labelNameLengthLimit: limits.labelNameLengthLimit,
          labelValueLengthLimit: limits.labelValueLengthLimit,
          ...negotiation,
        },
      });
    }
  }
  if (cfg.target_limit > 0 && targets.length > cfg.target_limit) {
    errors.push(`${cfg.job_name}: ${targets.length} targets exceed target_limit ${cfg.target_limit}; none scraped`);
    return { targets: [], dropped, errors };
  }
  return { targets, dropped, errors };
}

export function describeTarget(labels: Labels): string {
  return `${labels.job ?? ''}/${labels.instance ?? ''}`;
}
