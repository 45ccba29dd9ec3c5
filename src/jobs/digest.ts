import type { DigestConfig } from '../config/jobs.js';
import type { QueryEngine } from '../promql/types.js';
import type { JobDefinition } from './types.js';
import { formatDuration } from '../model/duration.js';

export interface AlertEpisode {
  alertname: string;
  severity: string;
  labels: Record<string, string>;
  startedAt: number;
  endedAt?: number;
  durationMs: number;
}

export interface BackupStatus {
  job: string;
  lastSuccess?: string;
  lastError?: string;
}

export interface DigestData {
  from: number;
  to: number;
  episodes: AlertEpisode[];
  noisiest: Array<{ alertname: string; count: number; totalMs: number }>;
  backups: BackupStatus[];
  downTargets: Array<{ job: string; instance: string; availability: number }>;
  /** Per SLO (slos/*.yml): objective and error budget left over its period. */
  slos: SloBudget[];
}

export interface SloBudget {
  service: string;
  slo: string;
  /** Objective as a ratio (0.999). */
  objective: number;
  /** Share of the period's error budget left: 1 untouched, below 0 exhausted; NaN without traffic. */
  remaining: number;
}

const STEP_MS = 60_000;

/** Reads the last window's alert episodes, flapping rules and down targets from storage. */
export async function collectDigest(engine: QueryEngine, windowMs: number, backups: BackupStatus[], now = Date.now()): Promise<DigestData> {
  const to = Math.floor(now / STEP_MS) * STEP_MS;
  const from = to - windowMs;
  const firing = await engine.rangeQuery('ALERTS{alertstate="firing"}', from, to, STEP_MS);
  const episodes: AlertEpisode[] = [];
  if (firing.value.resultType === 'matrix') {
    for (const s of firing.value.result) {
      const { __name__: _n, alertstate: _s, ...labels } = s.labels;
      let start = -1;
      for (let i = 0; i <= s.t.length; i++) {
        const contiguous = i < s.t.length && (i === 0 || s.t[i] - s.t[i - 1] <= STEP_MS);
        if (start < 0 && i < s.t.length) start = i;
        else if (start >= 0 && !contiguous) {
          const last = s.t[i - 1];
          const ended = last < to ? last + STEP_MS : undefined;
          episodes.push({
            alertname: labels.alertname ?? '',
            severity: labels.severity ?? '',
            labels,
            startedAt: s.t[start],
            endedAt: ended,
            durationMs: (ended ?? to) - s.t[start],
          });
          start = i < s.t.length ? i : -1;
        }
      }
    }
  }
  episodes.sort((a, b) => a.startedAt - b.startedAt);
  const byRule = new Map<string, { alertname: string; count: number; totalMs: number }>();
  for (const e of episodes) {
    const r = byRule.get(e.alertname) ?? { alertname: e.alertname, count: 0, totalMs: 0 };
    r.count++;
    r.totalMs += e.durationMs;
    byRule.set(e.alertname, r);
  }
  const noisiest = [...byRule.values()].sort((a, b) => b.count - a.count || b.totalMs - a.totalMs).slice(0, 5);

  const windowStr = `${Math.round(windowMs / 1000)}s`;
  const up = await engine.instantQuery(`avg_over_time(up[${windowStr}]) < 1`, to);
  const downTargets =
    up.value.resultType === 'vector'
      ? up.value.result
          .map((s) => ({ job: s.labels.job ?? '', instance: s.labels.instance ?? '', availability: s.v }))
          .sort((a, b) => a.availability - b.availability)
      : [];
  return { from, to, episodes, noisiest, backups, downTargets, slos: await collectSloBudgets(engine, to) };
}

async function collectSloBudgets(engine: QueryEngine, at: number): Promise<SloBudget[]> {
  const [objectives, remaining] = await Promise.all([
    engine.instantQuery('slo:objective:ratio', at),
    engine.instantQuery('slo:period_error_budget_remaining:ratio', at),
  ]);
  if (objectives.value.resultType !== 'vector') return [];
  const key = (l: Record<string, string>) => `${l.sloth_service}\u0000${l.sloth_slo}`;
  const left = new Map<string, number>();
  if (remaining.value.resultType === 'vector') for (const s of remaining.value.result) left.set(key(s.labels), s.v);
  return objectives.value.result
    .map((s) => ({
      service: s.labels.sloth_service ?? '',
      slo: s.labels.sloth_slo ?? '',
      objective: s.v,
      remaining: left.get(key(s.labels)) ?? Number.NaN,
    }))
    .sort((a, b) => a.remaining - b.remaining || a.service.localeCompare(b.service) || a.slo.localeCompare(b.slo));
}

const percent = (r: number) => `${Number((r * 100).toPrecision(6))}%`;

/** A digest reads in whole minutes. */
const minutes = (ms: number) => formatDuration(Math.round(ms / 60_000) * 60_000);
const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

export function digestText(d: DigestData): string {
  const lines = [`Vigil daily digest ${iso(d.from)} to ${iso(d.to)}`, ''];
  lines.push(`Alerts: ${d.episodes.length} fired, ${d.episodes.filter((e) => e.endedAt).length} resolved`);
  for (const e of d.episodes) {
    lines.push(`- ${e.alertname} (${e.severity || 'no severity'}) ${iso(e.startedAt)} ${e.endedAt ? `resolved after ${minutes(e.durationMs)}` : `still firing (${minutes(e.durationMs)})`}`);
  }
  lines.push('', 'Noisiest rules:');
  if (!d.noisiest.length) lines.push('- none');
  for (const r of d.noisiest) lines.push(`- ${r.alertname}: ${r.count} time(s), ${minutes(r.totalMs)} in total`);
  lines.push('', 'Backups:');
  if (!d.backups.length) lines.push('- no backup job configured');
  for (const b of d.backups) lines.push(`- ${b.job}: last success ${b.lastSuccess ?? 'never'}${b.lastError ? `, last error: ${b.lastError}` : ''}`);
  lines.push('', 'Targets that were down:');
  if (!d.downTargets.length) lines.push('- none');
  for (const t of d.downTargets) lines.push(`- ${t.job} ${t.instance}: up ${(t.availability * 100).toFixed(1)}% of the time`);
  lines.push('', 'Error budget remaining (30d):');
  if (!d.slos.length) lines.push('- no SLO defined (slos/*.yml)');
  for (const s of d.slos) {
    const left = Number.isNaN(s.remaining) ? 'no data' : s.remaining < 0 ? `exhausted (${(s.remaining * 100).toFixed(1)}%)` : `${(s.remaining * 100).toFixed(1)}% left`;
    lines.push(`- ${s.service} ${s.slo} (objective ${percent(s.objective)}): ${left}`);
  }
  return lines.join('\n');
}

/** Sends a notice through a notification receiver; returns the integration kinds reached. */
export type SendNotice = (receiver: string, notice: { title: string; text: string }) => Promise<string[]>;

export interface DigestDeps {
  engine: QueryEngine;
  backups: () => BackupStatus[];
  /** The notifier's receivers; absent when no notification config is loaded. */
  notice?: SendNotice;
}

export function digestJob(name: string, cfg: DigestConfig, deps: DigestDeps): JobDefinition {
  return {
    name,
    kind: 'digest',
    schedule: cfg.schedule,
    timezone: cfg.timezone,
    catchUp: cfg.catch_up,
    timeoutMs: cfg.timeout,
    async run(ctx) {
      const data = await collectDigest(deps.engine, cfg.window, deps.backups());
      const text = digestText(data);
      const subject = `Vigil digest: ${data.episodes.length} alert(s), ${data.downTargets.length} target(s) down`;
      if (!deps.notice) throw new Error(`receiver "${cfg.receiver}": no notification config is loaded (alerting.config_file or alerting.config)`);
      const sent = await deps.notice(cfg.receiver, { title: subject, text });
      ctx.record({ alerts: data.episodes.length, down_targets: data.downTargets.length });
      return `digest sent to ${cfg.receiver} (${sent.join(', ') || 'no integration takes notices'})`;
    },
  };
}
