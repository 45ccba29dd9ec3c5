/**
 * What a reload can change while Vigil runs. Each changed setting is either
 * applied by a running part (collectors, rules, notifier, forwarding) or needs
 * a restart; a reload with any of the latter is refused as a whole, naming
 * them, so a success answer always means every change is in force.
 */
import type { VigilConfig } from './config/index.js';

/** Settings the running parts take on reload; everything else (and any new section) needs a restart. */
const APPLIED = new Set([
  'global.scrape_interval',
  'global.scrape_timeout',
  'global.body_size_limit',
  'global.sample_limit',
  'global.scrape_protocols',
  'global.scrape_native_histograms',
  'global.query_log_file',
  'global.evaluation_interval',
  'global.external_labels',
  'scrape_configs',
  'health_checks',
  'postgres',
  'redis',
  'rule_files',
  'slo_files',
  'alerting.config',
  'alerting.config_file',
  'alerting.alertmanagers',
  // Read per request and at shutdown, from the configuration in force.
  'server.token',
  'server.shutdown_timeout',
  // Read by `vigil dashboards push` only.
  'grafana',
]);

/** Sections compared setting by setting, so a change names the setting. */
const BY_SETTING = new Set(['global', 'server', 'storage', 'alerting', 'scrape_workers']);

export interface ReloadPlan {
  /** Changed settings, e.g. `server.token`, `rule_files`. */
  changed: string[];
  /** The changed ones a reload cannot apply. */
  needsRestart: string[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function planReload(current: VigilConfig, next: VigilConfig): ReloadPlan {
  const changed: string[] = [];
  const cur = current as Record<string, unknown>;
  const nxt = next as Record<string, unknown>;
  for (const section of new Set([...Object.keys(cur), ...Object.keys(nxt)])) {
    const a = cur[section];
    const b = nxt[section];
    if (same(a, b)) continue;
    if (BY_SETTING.has(section) && a && b && typeof a === 'object' && typeof b === 'object') {
      const ao = a as Record<string, unknown>;
      const bo = b as Record<string, unknown>;
      for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) if (!same(ao[k], bo[k])) changed.push(`${section}.${k}`);
    } else changed.push(section);
  }
  // Turning notifications on or off adds or removes the notifier and its API: a restart.
  const notifying = (c: VigilConfig) => !!(c.alerting && (c.alerting.config_file || c.alerting.config));
  const needsRestart = changed.filter((c) => !APPLIED.has(c));
  if (notifying(current) !== notifying(next) && !needsRestart.includes('alerting')) needsRestart.push('alerting');
  return { changed, needsRestart };
}
