/**
 * What happens to one group flush, as Alertmanager's notify stages: time
 * intervals -> inhibit -> silence -> per integration: lease -> dedup against
 * the notification log -> send with retries -> record.
 */
import type { Counter, Histogram } from 'prom-client';
import type { Logger } from '../../logger.js';
import type { GroupFlush } from './dispatch.js';
import type { Inhibitor, FiringAlert } from './inhibit.js';
import { withRetry } from './retry.js';
import { Slots } from '../../util/slots.js';
import { silencedBy, type Silence } from './silences.js';
import type { NflogEntry, NotifyState } from './state.js';
import type { TimeIntervals } from './time-intervals.js';
import { isResolved, type Integration, type StoredAlert } from './types.js';

export interface PipelineDeps {
  state: NotifyState;
  inhibitor: Inhibitor;
  intervals: TimeIntervals;
  integrations: Map<string, Integration[]>;
  /** Currently firing alerts, for inhibition. */
  firing: () => Iterable<FiringAlert>;
  logger: Logger;
  externalUrl: string;
  nflogRetentionMs: number;
  minRetryBudgetMs: number;
  signal: AbortSignal;
  metrics: { sent: Counter<'integration'>; failed: Counter<'integration'>; latency: Histogram<'integration'> };
}

/** Alertmanager's DedupStage.needsUpdate. */
export function needsUpdate(entry: NflogEntry | undefined, firing: Set<string>, resolved: Set<string>, sendResolved: boolean, repeatMs: number, now: number): boolean {
  if (!entry) return firing.size > 0;
  const prevFiring = new Set(entry.firing);
  for (const f of firing) if (!prevFiring.has(f)) return true;
  // Every alert resolved: notify (even without send_resolved) so the log forgets the firing ones.
  if (firing.size === 0) return entry.firing.length > 0;
  if (sendResolved) {
    const prevResolved = new Set(entry.resolved);
    for (const r of resolved) if (!prevResolved.has(r)) return true;
  }
  return entry.timestamp <= now - repeatMs;
}

export function filterMuted(alerts: StoredAlert[], silences: Silence[], inhibitor: Inhibitor, firing: () => Iterable<FiringAlert>, now: number): StoredAlert[] {
  // Listing every firing alert is the costly part; skip it when no rule can inhibit.
  const firingList = inhibitor.empty ? [] : [...firing()];
  return alerts.filter(
    (a) => (silences.length === 0 || silencedBy(silences, a.labels, now).length === 0) && (inhibitor.empty || !inhibitor.inhibitedBy(a.labels, a.fingerprint, firingList)),
  );
}

/**
 * Sends in flight at once across all groups. Thousands of failing groups then
 * queue for a slot instead of holding thousands of sockets, and on shutdown the
 * queued ones give up without a request.
 */
const MAX_SENDS_IN_FLIGHT = 64;

export class Pipeline {
  private readonly sends = new Slots(MAX_SENDS_IN_FLIGHT);

  constructor(private readonly d: PipelineDeps) {}

  async flush(f: GroupFlush): Promise<boolean> {
    const now = Date.now();
    const o = f.route.opts;
    const at = new Date(now);
    if (o.muteTimeIntervals.length && this.d.intervals.contains(o.muteTimeIntervals, at)) return true;
    if (o.activeTimeIntervals.length && !this.d.intervals.contains(o.activeTimeIntervals, at)) return true;
    const silences = await this.d.state.silences();
    const kept = filterMuted(f.alerts, silences, this.d.inhibitor, this.d.firing, now);
    if (kept.length === 0) return true;
    const integrations = this.d.integrations.get(o.receiver) ?? [];
    const results = await Promise.all(integrations.map((i) => this.notifyOne(f, i, kept, now)));
    return results.every(Boolean);
  }

  private async notifyOne(f: GroupFlush, i: Integration, alerts: StoredAlert[], now: number): Promise<boolean> {
    const o = f.route.opts;
    const key = `${f.groupKey}:${o.receiver}:${i.kind}/${i.index}`;
    const budget = Math.max(o.groupInterval, this.d.minRetryBudgetMs);
    const log = this.d.logger.child({ receiver: o.receiver, integration: `${i.kind}[${i.index}]`, groupKey: f.groupKey });
    try {
      // The lease outlives the whole retry budget so no other replica sends the same thing meanwhile.
      if (!(await this.d.state.acquire(key, budget + 5_000))) return false;
    } catch (err) {
      log.error({ err: (err as Error).message }, 'cannot reach shared notification state; not sending');
      return false;
    }
    try {
      const firing = new Set(alerts.filter((a) => !isResolved(a, now)).map((a) => a.fingerprint));
      const resolved = new Set(alerts.filter((a) => isResolved(a, now)).map((a) => a.fingerprint));
      const entry = await this.d.state.nflogGet(key);
      if (!needsUpdate(entry, firing, resolved, i.sendResolved, o.repeatInterval, now)) return true;
      const toSend = i.sendResolved ? alerts : alerts.filter((a) => !isResolved(a, now));
      if (toSend.length > 0) {
        const t0 = performance.now();
        await withRetry(
          () =>
            this.sends.run(
              () => i.notify({ receiver: o.receiver, groupKey: f.groupKey, groupLabels: f.groupLabels, alerts: toSend, now, externalUrl: this.d.externalUrl }),
              this.d.signal,
            ),
          {
            maxElapsedMs: budget,
            logger: log,
            what: `notify ${o.receiver}/${i.kind}`,
            signal: this.d.signal,
            onAttemptFailed: () => this.d.metrics.failed.inc({ integration: i.kind }),
          },
        );
        this.d.metrics.sent.inc({ integration: i.kind });
        this.d.metrics.latency.observe({ integration: i.kind }, (performance.now() - t0) / 1000);
      }
      await this.d.state.nflogSet(key, {
        firing: [...firing],
        resolved: [...resolved],
        timestamp: now,
        expiresAt: now + this.d.nflogRetentionMs,
      });
      return true;
    } catch (err) {
      log.error({ err: (err as Error).message }, 'notification failed; will retry at the next group interval');
      return false;
    } finally {
      await this.d.state.release(key).catch(() => undefined);
    }
  }
}
