/**
 * The notification stages, as Alertmanager's notify package has them. A
 * group flush runs inhibit → time intervals → silence → fan-out; each
 * integration then runs lease → dedup → retry → record. A stage gets the
 * alerts still in play and returns those that go on: none ends the chain
 * (nothing to send); a throw fails the flush so the group tries again.
 */
import type { Counter, Histogram } from 'prom-client';
import type { Logger } from '../../logger.js';
import type { Clock } from './clock.js';
import type { FiringAlert, Inhibitor } from './inhibit.js';
import type { LabelSet } from './matchers.js';
import { Slots } from '../../util/slots.js';
import { withRetry } from './retry.js';
import type { Route } from './route.js';
import type { SilenceService } from './silence-service.js';
import type { NflogEntry, NotifyState } from './state.js';
import type { TimeIntervals } from './time-intervals.js';
import { isResolved, NotifyError, type Integration, type StoredAlert } from './types.js';

export interface FlushContext {
  route: Route;
  groupKey: string;
  groupLabels: LabelSet;
  now: number;
  log: Logger;
}

export interface Stage<C extends FlushContext = FlushContext> {
  readonly name: string;
  exec(ctx: C, alerts: StoredAlert[]): Promise<StoredAlert[]>;
}

/** Runs stages in order; stops early when a stage leaves no alert. */
export async function runStages<C extends FlushContext>(stages: readonly Stage<C>[], ctx: C, alerts: StoredAlert[]): Promise<StoredAlert[]> {
  let left = alerts;
  for (const s of stages) {
    if (left.length === 0) break;
    left = await s.exec(ctx, left);
  }
  return left;
}

/** Drops alerts a firing alert inhibits. */
export function inhibitStage(inhibitor: Inhibitor, firing: () => Iterable<FiringAlert>): Stage {
  return {
    name: 'inhibit',
    async exec(_ctx, alerts) {
      if (inhibitor.empty) return alerts;
      // Listing every firing alert is the costly part: once per flush.
      const list = [...firing()];
      return alerts.filter((a) => !inhibitor.inhibitedBy(a.labels, a.fingerprint, list));
    },
  };
}

/** Mutes the whole flush outside the route's active intervals or inside its mute intervals. */
export function timeIntervalStage(intervals: TimeIntervals): Stage {
  return {
    name: 'time_intervals',
    async exec(ctx, alerts) {
      const o = ctx.route.opts;
      const at = new Date(ctx.now);
      if (o.muteTimeIntervals.length && intervals.contains(o.muteTimeIntervals, at)) return [];
      if (o.activeTimeIntervals.length && !intervals.contains(o.activeTimeIntervals, at)) return [];
      return alerts;
    },
  };
}

/** Drops silenced alerts. */
export function silenceStage(silences: SilenceService): Stage {
  return {
    name: 'silence',
    async exec(_ctx, alerts) {
      const list = await silences.list();
      if (list.length === 0) return alerts;
      const kept: StoredAlert[] = [];
      for (const a of alerts) if ((await silences.mutedBy(a.labels, list)).length === 0) kept.push(a);
      return kept;
    },
  };
}

export interface IntegrationContext extends FlushContext {
  integration: Integration;
  /** Notification log key: group, receiver and integration. */
  key: string;
  firing: Set<string>;
  resolved: Set<string>;
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

/** Passes the alerts on only when the notification log says something changed (or the repeat interval passed). */
export function dedupStage(state: NotifyState): Stage<IntegrationContext> {
  return {
    name: 'dedup',
    async exec(ctx, alerts) {
      const entry = await state.nflogGet(ctx.key);
      return needsUpdate(entry, ctx.firing, ctx.resolved, ctx.integration.sendResolved, ctx.route.opts.repeatInterval, ctx.now) ? alerts : [];
    },
  };
}

export interface NotifyMetrics {
  sent: Counter<'integration'>;
  failed: Counter<'integration'>;
  latency: Histogram<'integration'>;
}

export interface RetryStageOptions {
  externalUrl: string;
  dashboardUrl?: string;
  minRetryBudgetMs: number;
  signal: AbortSignal;
  metrics: NotifyMetrics;
  clock: Clock;
  /** Shared by every integration of a notifier; one is made per stage when absent. */
  sends?: Slots;
}

/**
 * Sends in flight at once across all groups. Thousands of failing groups then
 * queue for a slot instead of holding thousands of sockets, and on shutdown the
 * queued ones give up without a request.
 */
const MAX_SENDS_IN_FLIGHT = 64;

/** Sends through the integration, retrying within the group interval (or the minimum budget). */
export function retryStage(o: RetryStageOptions): Stage<IntegrationContext> {
  const sends = o.sends ?? new Slots(MAX_SENDS_IN_FLIGHT);
  return {
    name: 'retry',
    async exec(ctx, alerts) {
      const i = ctx.integration;
      const toSend = i.sendResolved ? alerts : alerts.filter((a) => !isResolved(a, ctx.now));
      // Everything resolved and this integration does not send resolutions: only the log is updated.
      if (toSend.length === 0) return alerts;
      const receiver = ctx.route.opts.receiver;
      const t0 = performance.now();
      await withRetry(
        () =>
          sends.run(
            () =>
              i.notify({
                receiver,
                groupKey: ctx.groupKey,
                groupLabels: ctx.groupLabels,
                alerts: toSend,
                now: ctx.now,
                externalUrl: o.externalUrl,
                dashboardUrl: o.dashboardUrl,
              }),
            o.signal,
          ),
        {
          maxElapsedMs: budgetMs(ctx.route, o.minRetryBudgetMs),
          // Read only when a retry is logged (the context makes its logger on first use).
          get logger() {
            return ctx.log;
          },
          what: `notify ${receiver}/${i.kind}`,
          signal: o.signal,
          clock: o.clock,
          onAttemptFailed: () => o.metrics.failed.inc({ integration: i.kind }),
        },
      );
      o.metrics.sent.inc({ integration: i.kind });
      o.metrics.latency.observe({ integration: i.kind }, (performance.now() - t0) / 1000);
      return alerts;
    },
  };
}

/** Records what was sent in the notification log (Alertmanager's SetNotifiesStage). */
export function recordStage(state: NotifyState, retentionMs: number): Stage<IntegrationContext> {
  return {
    name: 'record',
    async exec(ctx, alerts) {
      await state.nflogSet(ctx.key, { firing: [...ctx.firing], resolved: [...ctx.resolved], timestamp: ctx.now, expiresAt: ctx.now + retentionMs });
      return alerts;
    },
  };
}

export function budgetMs(route: Route, minRetryBudgetMs: number): number {
  return Math.max(route.opts.groupInterval, minRetryBudgetMs);
}

export interface ShutdownOptions {
  /** Aborts on shutdown. */
  signal: AbortSignal;
  /** Told of each send given up because of the shutdown, instead of a log line each. */
  onAbandoned: () => void;
}

/**
 * Runs the per-integration stages for every integration of the route's
 * receiver, in parallel, each under a lease so that only one replica sends.
 * Fails when any integration failed; the others' log entries are kept, so the
 * next attempt only re-sends where needed.
 */
export function fanoutStage(
  integrations: Map<string, Integration[]>,
  state: NotifyState,
  perIntegration: readonly Stage<IntegrationContext>[],
  minRetryBudgetMs: number,
  shutdown?: ShutdownOptions,
): Stage {
  return {
    name: 'fanout',
    async exec(ctx, alerts) {
      const receiver = ctx.route.opts.receiver;
      const firing = new Set(alerts.filter((a) => !isResolved(a, ctx.now)).map((a) => a.fingerprint));
      const resolved = new Set(alerts.filter((a) => isResolved(a, ctx.now)).map((a) => a.fingerprint));
      const results = await Promise.all(
        (integrations.get(receiver) ?? []).map(async (integration) => {
          const key = `${ctx.groupKey}:${receiver}:${integration.kind}/${integration.index}`;
          // Made only when something is logged: most flushes log nothing, and a child logger is not cheap.
          let child: Logger | undefined;
          const childLog = () => (child ??= ctx.log.child({ receiver, integration: `${integration.kind}[${integration.index}]`, groupKey: ctx.groupKey }));
          try {
            // The lease outlives the whole retry budget so no other replica sends the same thing meanwhile.
            if (!(await state.acquire(key, budgetMs(ctx.route, minRetryBudgetMs) + 5_000))) return false;
          } catch (err) {
            childLog().error({ err: (err as Error).message }, 'cannot reach shared notification state; not sending');
            return false;
          }
          try {
            const ictx: IntegrationContext = {
              ...ctx,
              get log() {
                return childLog();
              },
              integration,
              key,
              firing,
              resolved,
            };
            await runStages(perIntegration, ictx, alerts);
            return true;
          } catch (err) {
            // Shutting down: thousands of groups give up at once; the notifier reports them in one line.
            if (shutdown?.signal.aborted) shutdown.onAbandoned();
            else childLog().error({ err: (err as Error).message }, 'notification failed; will retry at the next group interval');
            return false;
          } finally {
            await state.release(key).catch(() => undefined);
          }
        }),
      );
      if (!results.every(Boolean)) throw new NotifyError(`receiver ${receiver}: not every integration was notified`, true);
      return alerts;
    },
  };
}
