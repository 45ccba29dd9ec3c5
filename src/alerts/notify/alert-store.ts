/**
 * The notifier's alert store: incoming alerts keyed by fingerprint and merged
 * as Alertmanager merges re-sent alerts (earliest start, newest data).
 */
import type { Alert } from '../types.js';
import { fingerprint, type LabelSet } from './matchers.js';
import type { StoredAlert } from './types.js';

export function toStored(a: Alert, now: number, resolveTimeoutMs: number): StoredAlert {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(a.labels)) if (v !== '') labels[k] = String(v);
  const startsAt = a.startsAt && !Number.isNaN(a.startsAt.getTime()) && a.startsAt.getTime() > 0 ? a.startsAt.getTime() : now;
  const hasEnd = a.endsAt && !Number.isNaN(a.endsAt.getTime()) && a.endsAt.getTime() > 0;
  return {
    fingerprint: fingerprint(labels),
    labels,
    annotations: { ...(a.annotations as LabelSet) },
    startsAt,
    endsAt: hasEnd ? a.endsAt.getTime() : now + resolveTimeoutMs,
    generatorURL: a.generatorURL ?? '',
    updatedAt: now,
    timeout: !hasEnd,
  };
}

export function merge(old: StoredAlert, a: StoredAlert, now: number): StoredAlert {
  // A new firing after the old one resolved is a new instance, not a merge.
  if (old.endsAt <= now && a.startsAt > old.endsAt) return a;
  const startsAt = Math.min(old.startsAt, a.startsAt);
  let endsAt = a.endsAt;
  if (a.endsAt <= now) {
    if (old.endsAt <= now && old.endsAt > a.endsAt) endsAt = old.endsAt;
  } else if (old.endsAt > a.endsAt && !old.timeout) endsAt = old.endsAt;
  return { ...a, startsAt, endsAt };
}

export class AlertStore {
  readonly alerts = new Map<string, StoredAlert>();

  put(a: StoredAlert, now: number): StoredAlert {
    const old = this.alerts.get(a.fingerprint);
    const v = old ? merge(old, a, now) : a;
    this.alerts.set(v.fingerprint, v);
    return v;
  }

  /** Drops alerts resolved longer than `keepMs` ago that no group still holds. */
  gc(now: number, keepMs: number, inUse: (fp: string) => boolean): void {
    for (const [fp, a] of this.alerts) if (a.endsAt + keepMs <= now && !inUse(fp)) this.alerts.delete(fp);
  }
}
