/**
 * The notifier: Vigil's embedded Alertmanager. Receives alerts (AlertSink),
 * groups them by route (dispatch.ts) and runs each group flush through the
 * stage chain (pipeline.ts): inhibit, time intervals, silence, then per
 * integration dedup against the notification log, send with retries, record.
 * This module wires those parts and keeps the alert store across restarts.
 */
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Component } from '../../component.js';
import type { Logger } from '../../logger.js';
import { untilDeadline } from '../../util/deadline.js';
import type { Alert, AlertSink } from '../types.js';
import { AlertStore, toStored } from './alert-store.js';
import { systemClock, type Clock } from './clock.js';
import { Dispatcher, type GroupTiming } from './dispatch.js';
import { compileInhibitRules, Inhibitor } from './inhibit.js';
import { buildIntegrations } from './integrations.js';
import { loadNotifierConfig, type Loaded, type NotifierConfigSource } from './loader.js';
import { maskedConfigYaml } from './mask.js';
import { JsonFile } from './persist.js';
import { Pipeline } from './pipeline.js';
import { routeTree, type Route } from './route.js';
import { SilenceService } from './silence-service.js';
import type { Silence } from './silences.js';
import { FileState, RedisState, type NotifyState } from './state.js';
import { TimeIntervals } from './time-intervals.js';
import { isResolved, type Integration, type Notice, type StoredAlert } from './types.js';
import { withRetry } from './retry.js';
import { alertView, type AlertStatusView } from './views.js';

export { createAlertmanagerSink } from './receivers/alertmanager.js';
export { alertmanagerApiRoutes } from '../../api/alertmanager-api.js';
export { SilenceError, type Silence } from './silences.js';
export type { AlertStatusView } from './views.js';
export { ManualClock, systemClock, type Clock } from './clock.js';
export type { Notice } from './types.js';

export interface NotifierOptions {
  /** The `alerting:` section, an Alertmanager config object, or a path to an Alertmanager-format file. */
  config: NotifierConfigSource;
  dataDir: string;
  registry: Registry;
  logger: Logger;
  /** Base URL of Vigil for links (silence links, webhook externalURL). */
  externalUrl: string;
  /** Grafana base URL: dashboard annotations that are paths link under it. */
  dashboardUrl?: string;
  /** Overrides `alerting.redis_url`. */
  redisUrl?: string;
  redisKeyPrefix?: string;
  minRetryBudgetMs?: number;
  retentionMs?: number;
  /** Time source; tests pass a ManualClock. */
  clock?: Clock;
}

export interface Notifier extends Component, AlertSink {
  reload(config?: NotifierOptions['config']): Promise<void>;
  /** Alerts as the v2 API shows them (resolved ones omitted). */
  listAlerts(): Promise<AlertStatusView[]>;
  listGroups(): Promise<{ labels: Record<string, string>; receiver: string; alerts: AlertStatusView[] }[]>;
  listSilences(): Promise<Silence[]>;
  getSilence(id: string): Promise<Silence | undefined>;
  /** Creates or updates; returns the id or throws SilenceError. */
  putSilence(s: Partial<Silence>): Promise<string>;
  expireSilence(id: string): Promise<void>;
  receivers(): string[];
  /** The config YAML with secrets masked. */
  configYaml(): string;
  /** Resolves once no group flush is in progress (nothing more is on its way). */
  settled(): Promise<void>;
  /** Aggregation groups still holding alerts (a resolved alert stays until its resolution is sent). */
  groupCount(): number;
  /**
   * Sends a notice (the digest, not an alert) through a receiver's integrations,
   * with the same retries and secrets as alerts; returns the integration kinds
   * reached, throws when the receiver is unknown or none was reached.
   */
  notice(receiver: string, n: Notice): Promise<string[]>;
  readonly startedAt: Date;
}

function createMetrics(registry: Registry) {
  return {
    sent: new Counter({ name: 'vigil_notifications_total', help: 'Notifications sent, by integration.', labelNames: ['integration'], registers: [registry] }),
    failed: new Counter({
      name: 'vigil_notifications_failed_total',
      help: 'Failed notification attempts (each retry counts), by integration.',
      labelNames: ['integration'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'vigil_notification_latency_seconds',
      help: 'Time to deliver a notification including retries.',
      labelNames: ['integration'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      registers: [registry],
    }),
  };
}

/** Restored alerts resolved longer ago than this are not brought back. */
const RESTORE_RESOLVED_MS = 15 * 60_000;

export function createNotifier(opts: NotifierOptions): Notifier {
  const log = opts.logger.child({ component: 'notify' });
  const clock = opts.clock ?? systemClock;
  let loaded: Loaded = loadNotifierConfig(opts.config);
  const section = loaded.section;
  const redisUrl = opts.redisUrl ?? section?.redis_url;
  const state: NotifyState = redisUrl ? new RedisState(redisUrl, opts.redisKeyPrefix ?? section?.redis_key_prefix) : new FileState(opts.dataDir);
  const retentionMs = opts.retentionMs ?? section?.retention ?? 120 * 3600_000;
  const silences = new SilenceService(state, clock, retentionMs);
  const store = new AlertStore();
  const alertsFile = new JsonFile<StoredAlert[]>(join(opts.dataDir, 'notify', 'alerts.json'), () => [...store.alerts.values()]);
  // Local even with Redis state: the timers belong to this replica's groups.
  const groupsFile = new JsonFile<Record<string, GroupTiming>>(join(opts.dataDir, 'notify', 'groups.json'), () => dispatcher.timings());
  const saveGroups = () => void groupsFile.save().catch((err: Error) => log.error({ err: err.message, file: groupsFile.path }, 'cannot save notification group timers'));
  const abort = new AbortController();
  // Every send waiting for a slot or a retry listens for shutdown: thousands of listeners are expected.
  setMaxListeners(0, abort.signal);
  const startedAt = new Date(clock.now());
  const metrics = createMetrics(opts.registry);

  const firing = () => {
    const now = clock.now();
    return [...store.alerts.values()].filter((a) => !isResolved(a, now));
  };
  new Gauge({
    name: 'vigil_alerts',
    help: 'Alerts held by the notifier, by state.',
    labelNames: ['state'],
    registers: [opts.registry],
    collect() {
      this.set({ state: 'active' }, firing().length);
    },
  });

  let route: Route;
  let inhibitor: Inhibitor;
  let integrations: Map<string, Integration[]>;
  let dispatcher: Dispatcher;
  let started = false;
  /** Sends given up because of the shutdown, reported in one line. */
  let abandoned = 0;

  function build(l: Loaded): void {
    route = routeTree(l.am);
    inhibitor = new Inhibitor(compileInhibitRules(l.am.inhibit_rules));
    integrations = buildIntegrations(l.am, clock);
    const pipeline = new Pipeline({
      state,
      inhibitor,
      silences,
      intervals: new TimeIntervals([...l.am.time_intervals, ...l.am.mute_time_intervals]),
      integrations,
      firing,
      logger: log,
      externalUrl: opts.externalUrl,
      dashboardUrl: opts.dashboardUrl,
      nflogRetentionMs: retentionMs,
      minRetryBudgetMs: opts.minRetryBudgetMs ?? section?.min_retry_budget ?? 10_000,
      signal: abort.signal,
      onAbandoned: () => abandoned++,
      metrics,
      clock,
    });
    dispatcher = new Dispatcher(route, (f) => pipeline.flush(f), clock, saveGroups);
  }
  build(loaded);

  let gcTimer: NodeJS.Timeout | undefined;
  async function gc(): Promise<void> {
    const now = clock.now();
    store.gc(now, 0, (fp) => dispatcher.holds(fp));
    await state.gc(now).catch(() => undefined);
    await silences.gc();
  }

  async function views(alerts: StoredAlert[]): Promise<AlertStatusView[]> {
    const now = clock.now();
    const o = { silences: await silences.list(), firing: firing(), inhibitor, route, now };
    return alerts.map((a) => alertView(a, o));
  }

  /** A corrupt timers file only costs the timers: the groups start over, the notification log still prevents repeats. */
  function readGroupTimings(): Record<string, GroupTiming> {
    try {
      return groupsFile.read() ?? {};
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'notification group timers not restored');
      return {};
    }
  }

  /** Sends nothing more: queued and retrying sends give up, group timers stop; flushes in progress end by themselves. */
  function halt(): void {
    started = false;
    abort.abort();
    if (gcTimer) clearInterval(gcTimer);
    dispatcher.halt();
  }

  async function closeIntegrations(list: Map<string, Integration[]>): Promise<void> {
    for (const l of list.values()) for (const i of l) await i.close?.();
  }

  return {
    name: 'notify',
    startedAt,
    async start() {
      const now = clock.now();
      dispatcher.restoreTimings(readGroupTimings());
      for (const a of alertsFile.read() ?? []) {
        if (a.endsAt + RESTORE_RESOLVED_MS < now) continue;
        dispatcher.insert(store.put(a, now), now);
      }
      started = true;
      gcTimer = setInterval(() => void gc(), 30_000);
      gcTimer.unref();
      log.info({ restoredAlerts: store.alerts.size, ha: !!redisUrl }, 'notifier started');
    },
    halt,
    async stop(deadline?: number) {
      halt();
      // Sends in flight get until the deadline; the alerts and the notification log are saved either way.
      await untilDeadline(dispatcher.stop(), deadline);
      if (abandoned) log.warn({ sends: abandoned }, 'notifications given up by the shutdown; the next start sends them');
      await alertsFile.save();
      await groupsFile.save();
      for (const list of integrations.values()) for (const i of list) await untilDeadline(i.close?.(), deadline);
      await state.close();
    },
    async send(alerts: readonly Alert[]) {
      const now = clock.now();
      const g = loaded.am.global;
      for (const a of alerts) {
        const s = store.put(toStored(a, now, g.resolve_timeout), now);
        if (started) dispatcher.insert(s, now);
      }
      await alertsFile.save();
    },
    async reload(config) {
      const next = loadNotifierConfig(config ?? opts.config);
      const old = dispatcher;
      const oldIntegrations = integrations;
      loaded = next;
      build(next);
      await old.stop();
      await closeIntegrations(oldIntegrations);
      // Groups that still exist under the new routes keep their timers.
      dispatcher.restoreTimings(old.timings());
      const now = clock.now();
      if (started) for (const a of store.alerts.values()) dispatcher.insert(a, now);
      log.info('notification config reloaded');
    },
    listAlerts: () => views(firing()),
    async listGroups() {
      const now = clock.now();
      const out = [];
      for (const g of dispatcher.allGroups()) {
        const alerts = await views([...g.alerts.values()].filter((a) => !isResolved(a, now)));
        if (alerts.length) out.push({ labels: { ...g.labels }, receiver: g.route.opts.receiver, alerts });
      }
      return out;
    },
    listSilences: () => silences.list(),
    getSilence: (id) => silences.get(id),
    putSilence: (input) => silences.put(input),
    expireSilence: (id) => silences.expire(id),
    receivers: () => loaded.am.receivers.map((r) => r.name),
    configYaml: () => maskedConfigYaml(loaded.raw),
    settled: () => dispatcher.settled(),
    async notice(receiver, n) {
      const list = integrations.get(receiver);
      if (!list) throw new Error(`no receiver named "${receiver}" in the notification config`);
      const budget = Math.max(opts.minRetryBudgetMs ?? section?.min_retry_budget ?? 10_000, 60_000);
      const results = await Promise.allSettled(
        list
          .filter((i) => i.sendNotice)
          .map(async (i) => {
            await withRetry(() => i.sendNotice!(n, receiver), {
              maxElapsedMs: budget,
              logger: log,
              what: `notice ${receiver}/${i.kind}`,
              signal: abort.signal,
              clock,
              onAttemptFailed: () => metrics.failed.inc({ integration: i.kind }),
            });
            metrics.sent.inc({ integration: i.kind });
            return i.kind;
          }),
      );
      const sent = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
      if (failed.length && !sent.length) throw new Error(failed.join('; '));
      for (const f of failed) log.error({ err: f }, 'notice not delivered');
      return sent;
    },
    groupCount: () => dispatcher.allGroups().length,
  };
}
