/**
 * The real tool a benchmark compares Vigil with is its anchor. A ratio or a
 * goal verdict is printed only when the anchor ran and produced a result;
 * otherwise the cell says "not measured: <reason>", so a missing binary or
 * module can never read as a goal met.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary } from '../test/helpers/services.js';

export type Anchor = { ran: true; value: number } | { ran: false; reason: string };

/** The anchor's binary, or why it cannot run. */
export function anchorBinary(name: string, debianPackage: string): { path: string } | { reason: string } {
  const path = findBinary(name);
  return path ? { path } : { reason: `${name} not installed (apt-get install -y ${debianPackage})` };
}

/** rsyslog's Elasticsearch output module, which the log benchmark's anchor needs besides rsyslogd. */
export function rsyslogElasticsearchModule(): { dir: string } | { reason: string } {
  const dirs = process.env.VIGIL_RSYSLOG_MODDIR ? [process.env.VIGIL_RSYSLOG_MODDIR] : ['/usr/lib/x86_64-linux-gnu/rsyslog', '/usr/lib/aarch64-linux-gnu/rsyslog', '/usr/lib/rsyslog'];
  for (const dir of dirs) if (existsSync(join(dir, 'omelasticsearch.so'))) return { dir };
  return { reason: `rsyslog's omelasticsearch module not found in ${dirs.join(', ')} (apt-get install -y rsyslog-elasticsearch)` };
}

/** An anchor's measured figure: only a finite, positive result counts as having run. */
export function measured(value: number | undefined, whyMissing: string): Anchor {
  if (value === undefined) return { ran: false, reason: whyMissing };
  if (!Number.isFinite(value) || value <= 0) return { ran: false, reason: `${whyMissing || 'the anchor'} produced no result (${value})` };
  return { ran: true, value };
}

export function notRun(reason: string): Anchor {
  return { ran: false, reason };
}

/** `vigil / anchor` as "1.23x", or "not measured: …". */
export function ratioCell(vigil: number, anchor: Anchor, digits = 2): string {
  if (!anchor.ran) return `not measured: ${anchor.reason}`;
  if (!Number.isFinite(vigil) || vigil <= 0) return `not measured: Vigil produced no result (${vigil})`;
  return `${(vigil / anchor.value).toFixed(digits)}x`;
}

/**
 * A goal line: "Goal: <text> -> met (1.31x)", "… not met (1.10x)" or
 * "… not measured: <reason>". `atLeast` is the ratio vigil/anchor must reach
 * (for "higher is better" figures); pass `atMost` for "lower is better" ones.
 */
export function goalVerdict(text: string, vigil: number, anchor: Anchor, bound: { atLeast: number } | { atMost: number }): string {
  const cell = ratioCell(vigil, anchor);
  if (!cell.endsWith('x')) return `Goal: ${text} -> ${cell}`;
  const ratio = vigil / (anchor as { value: number }).value;
  const ok = 'atLeast' in bound ? ratio >= bound.atLeast : ratio <= bound.atMost;
  return `Goal: ${text} -> ${ok ? 'met' : 'not met'} (${cell})`;
}

/** Prometheus and promtool (backfill), the anchor of the query and rule benchmarks. */
export function prometheusAnchor(): { prometheus: string; promtool: string } | { reason: string } {
  const prometheus = anchorBinary('prometheus', 'prometheus');
  if ('reason' in prometheus) return prometheus;
  const promtool = anchorBinary('promtool', 'prometheus');
  if ('reason' in promtool) return promtool;
  return { prometheus: prometheus.path, promtool: promtool.path };
}
