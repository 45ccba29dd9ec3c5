/**
 * The notifier: Vigil's embedded Alertmanager. Receives alerts (AlertSink),
 * routes and groups them, applies inhibition, silences and time intervals,
 * dedups against the notification log and sends to Slack, email and webhooks.
 */
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { parseDocument } from 'yaml';
import type { Component } from '../../component.js';
import { interpolateEnv } from '../../config/interpolate.js';
import type { AlertingConfig } from '../../config/alerting.js';
import type { Logger } from '../../logger.js';
import { untilDeadline } from '../../util/deadline.js';
import type { Alert, AlertSink } from '../types.js';
import { AlertStore, toStored } from './alert-store.js';
import { alertmanagerConfigSchema, checkSecretFiles, loadAlertmanagerConfig, secretValue, type AlertmanagerConfig } from './config.js';
import { Dispatcher } from './dispatch.js';
import { compileInhibitRules, Inhibitor } from './inhibit.js';
import { maskedConfigYaml } from './mask.js';
import { matchRoutes, routeTree, type Route } from './route.js';
import { JsonFile } from './persist.js';
import { Pipeline } from './pipeline.js';
import { emailIntegration } from './receivers/email.js';
import { slackIntegration } from './receivers/slack.js';
import { webhookIntegration } from './receivers/webhook.js';
import { newSilenceId, SilenceError, silenceState, silencedBy, validateSilence, type Silence } from './silences.js';
import { FileState, RedisState, type NotifyState } from './state.js';
import { makeRenderer, readTemplateFiles } from './templates.js';
import { TimeIntervals } from './time-intervals.js';
import { isResolved, type Integration, type StoredAlert } from './types.js';

export { createAlertmanagerSink } from './receivers/alertmanager.js';
export { alertmanagerApiRoutes } from '../../api/alertmanager-api.js';
export { SilenceError, type Silence } from './silences.js';

export interface NotifierOptions {
  /** The `alerting:` section, an Alertmanager config object, or a path to an Alertmanager-format file. */
  config: AlertingConfig | AlertmanagerConfig | string;
  dataDir: string;
  registry: Registry;
  logger: Logger;
  /** Base URL of Vigil for links (silence links, webhook externalURL). */
  externalUrl: string;
  /** Overrides `alerting.redis_url`. */
  redisUrl?: string;
  redisKeyPrefix?: string;
  minRetryBudgetMs?: number;
  retentionMs?: number;
}

export interface AlertStatusView {
  alert: StoredAlert;
  state: 'active' | 'suppressed' | 'unprocessed';
  silencedBy: string[];
  inhibitedBy: string[];
  receivers: string[];
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
  readonly startedAt: Date;
}


interface Loaded {
  am: AlertmanagerConfig;
  raw: unknown;
  section?: AlertingConfig;
}

function isSection(c: object): c is AlertingConfig {
  return 'config_file' in c || 'config' in c || 'redis_key_prefix' in c || 'alertmanagers' in c;
}

function load(config: NotifierOptions['config']): Loaded {
  const fromFile = (file: string): Loaded => {
    const am = loadAlertmanagerConfig(file);
    checkSecretFiles(am, file);
    const text = interpolateEnv(readFileSync(file, 'utf8')).text;
    return { am, raw: parseDocument(text).toJS() };
  };
  if (typeof config === 'string') return fromFile(config);
  if (isSection(config)) {
    if (config.config_file) return { ...fromFile(config.config_file), section: config };
    const am = config.config ?? alertmanagerConfigSchema.parse({ route: { receiver: 'null' }, receivers: [{ name: 'null' }] });
    return { am, raw: am, section: config };
  }
  return { am: config, raw: config };
}

function buildIntegrations(am: AlertmanagerConfig): Map<string, Integration[]> {
  const render = makeRenderer(readTemplateFiles(am.templates));
  const g = am.global;
  const out = new Map<string, Integration[]>();
  for (const r of am.receivers) {
    const list: Integration[] = [];
    r.webhook_configs.forEach((w, index) => {
      const url = secretValue(w.url, w.url_file)!;
      const headers: Record<string, string> = {};
      const h = w.http_config;
      if (h?.basic_auth?.username) {
        const pw = secretValue(h.basic_auth.password, h.basic_auth.password_file) ?? '';
        headers.authorization = `Basic ${Buffer.from(`${h.basic_auth.username}:${pw}`).toString('base64')}`;
      }
      const cred = secretValue(h?.authorization?.credentials, h?.authorization?.credentials_file) ?? secretValue(h?.bearer_token, h?.bearer_token_file);
      if (cred) headers.authorization = `${h?.authorization?.type ?? 'Bearer'} ${cred}`;
      list.push(webhookIntegration({ url, sendResolved: w.send_resolved, maxAlerts: w.max_alerts, index, headers }));
    });
    r.email_configs.forEach((config, index) => list.push(emailIntegration({ config, global: g, render, index })));
    r.slack_configs.forEach((config, index) => {
      const url = secretValue(config.api_url, config.api_url_file) ?? secretValue(g.slack_api_url, g.slack_api_url_file)!;
      list.push(slackIntegration({ url, config, render, index }));
    });
    out.set(r.name, list);
  }
  return out;
}

export function createNotifier(opts: NotifierOptions): Notifier {
  const log = opts.logger.child({ component: 'notify' });
  let loaded = load(opts.config);
  const section = loaded.section;
  const redisUrl = opts.redisUrl ?? section?.redis_url;
  const state: NotifyState = redisUrl ? new RedisState(redisUrl, opts.redisKeyPrefix ?? section?.redis_key_prefix) : new FileState(opts.dataDir);
  const retentionMs = opts.retentionMs ?? section?.retention ?? 120 * 3600_000;
  const store = new AlertStore();
  const alertsFile = new JsonFile<StoredAlert[]>(join(opts.dataDir, 'notify', 'alerts.json'), () => [...store.alerts.values()]);
  const abort = new AbortController();
  // Every send waiting for a slot or a retry listens for shutdown: thousands of listeners are expected.
  setMaxListeners(0, abort.signal);
  const startedAt = new Date();

  const metrics = {
    sent: new Counter({ name: 'vigil_notifications_total', help: 'Notifications sent, by integration.', labelNames: ['integration'], registers: [opts.registry] }),
    failed: new Counter({
      name: 'vigil_notifications_failed_total',
      help: 'Failed notification attempts (each retry counts), by integration.',
      labelNames: ['integration'],
      registers: [opts.registry],
    }),
    latency: new Histogram({
      name: 'vigil_notification_latency_seconds',
      help: 'Time to deliver a notification including retries.',
      labelNames: ['integration'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      registers: [opts.registry],
    }),
  };
  new Gauge({
    name: 'vigil_alerts',
    help: 'Alerts held by the notifier, by state.',
    labelNames: ['state'],
    registers: [opts.registry],
    collect() {
      const now = Date.now();
      let firing = 0;
      for (const a of store.alerts.values()) if (!isResolved(a, now)) firing++;
      this.set({ state: 'active' }, firing);
    },
  });

  const firing = () => {
    const now = Date.now();
    return [...store.alerts.values()].filter((a) => !isResolved(a, now));
  };

  let route: Route;
  let inhibitor: Inhibitor;
  let integrations: Map<string, Integration[]>;
  let dispatcher: Dispatcher;
  let started = false;

  function build(l: Loaded): void {
    route = routeTree(l.am);
    inhibitor = new Inhibitor(compileInhibitRules(l.am.inhibit_rules));
    integrations = buildIntegrations(l.am);
    const pipeline = new Pipeline({
      state,
      inhibitor,
      intervals: new TimeIntervals([...l.am.time_intervals, ...l.am.mute_time_intervals]),
      integrations,
      firing,
      logger: log,
      externalUrl: opts.externalUrl,
      nflogRetentionMs: retentionMs,
      minRetryBudgetMs: opts.minRetryBudgetMs ?? section?.min_retry_budget ?? 10_000,
      signal: abort.signal,
      metrics,
    });
    dispatcher = new Dispatcher(route, (f) => pipeline.flush(f));
  }
  build(loaded);

  let gcTimer: NodeJS.Timeout | undefined;
  async function gc(): Promise<void> {
    const now = Date.now();
    store.gc(now, 0, (fp) => dispatcher.holds(fp));
    await state.gc(now).catch(() => undefined);
    for (const s of await state.silences().catch(() => [] as Silence[])) {
      if (s.endsAt + retentionMs <= now) await state.silenceDelete(s.id).catch(() => undefined);
    }
  }

  function statusOf(a: StoredAlert, silences: Silence[], firingNow: StoredAlert[], now: number): AlertStatusView {
    const sil = silencedBy(silences, a.labels, now);
    const inh = inhibitor.inhibitedBy(a.labels, a.fingerprint, firingNow);
    return {
      alert: a,
      state: sil.length || inh ? 'suppressed' : 'active',
      silencedBy: sil,
      inhibitedBy: inh ? [inh] : [],
      receivers: [...new Set(matchRoutes(route, a.labels).map((r) => r.opts.receiver))],
    };
  }

  const notifier: Notifier = {
    name: 'notify',
    startedAt,
    async start() {
      const saved = alertsFile.read() ?? [];
      const now = Date.now();
      for (const a of saved) {
        if (a.endsAt + 15 * 60_000 < now) continue;
        dispatcher.insert(store.put(a, now), now);
      }
      started = true;
      gcTimer = setInterval(() => void gc(), 30_000);
      gcTimer.unref();
      log.info({ restoredAlerts: store.alerts.size, ha: !!redisUrl }, 'notifier started');
    },
    async stop(deadline?: number) {
      started = false;
      abort.abort();
      if (gcTimer) clearInterval(gcTimer);
      // Sends in flight get until the deadline; the alerts and the notification log are saved either way.
      await untilDeadline(dispatcher.stop(), deadline);
      await alertsFile.save();
      for (const list of integrations.values()) for (const i of list) await untilDeadline(i.close?.(), deadline);
      await state.close();
    },
    async send(alerts: readonly Alert[]) {
      const now = Date.now();
      const g = loaded.am.global;
      for (const a of alerts) {
        const s = store.put(toStored(a, now, g.resolve_timeout), now);
        if (started) dispatcher.insert(s, now);
      }
      await alertsFile.save();
    },
    async reload(config) {
      const next = load(config ?? opts.config);
      const old = dispatcher;
      const oldIntegrations = integrations;
      loaded = next;
      build(next);
      await old.stop();
      for (const list of oldIntegrations.values()) for (const i of list) await i.close?.();
      const now = Date.now();
      if (started) for (const a of store.alerts.values()) dispatcher.insert(a, now);
      log.info('notification config reloaded');
    },
    async listAlerts() {
      const now = Date.now();
      const silences = await state.silences();
      const f = firing();
      return f.map((a) => statusOf(a, silences, f, now));
    },
    async listGroups() {
      const now = Date.now();
      const silences = await state.silences();
      const f = firing();
      return dispatcher
        .allGroups()
        .map((g) => ({
          labels: { ...g.labels },
          receiver: g.route.opts.receiver,
          alerts: [...g.alerts.values()].filter((a) => !isResolved(a, now)).map((a) => statusOf(a, silences, f, now)),
        }))
        .filter((g) => g.alerts.length > 0);
    },
    listSilences: () => state.silences(),
    async getSilence(id) {
      return (await state.silences()).find((s) => s.id === id);
    },
    async putSilence(input) {
      const now = Date.now();
      const err = validateSilence(input);
      if (err) throw new SilenceError(err, 400);
      let id = input.id;
      if (id) {
        const old = (await state.silences()).find((s) => s.id === id);
        if (!old) throw new SilenceError(`silence ${id} not found`, 404);
        // Alertmanager never edits an expired silence in place; it makes a new one.
        if (silenceState(old, now) === 'expired') id = undefined;
      }
      if (input.endsAt! <= now) throw new SilenceError('silence end time must be in the future', 400);
      const s: Silence = {
        id: id ?? newSilenceId(),
        matchers: input.matchers!.map((m) => ({ name: m.name, value: m.value, isRegex: !!m.isRegex, isEqual: m.isEqual !== false })),
        startsAt: Math.max(input.startsAt!, now),
        endsAt: input.endsAt!,
        updatedAt: now,
        createdBy: input.createdBy ?? '',
        comment: input.comment ?? '',
      };
      await state.silenceSet(s);
      return s.id;
    },
    async expireSilence(id) {
      const now = Date.now();
      const s = (await state.silences()).find((x) => x.id === id);
      if (!s) throw new SilenceError(`silence ${id} not found`, 404);
      if (silenceState(s, now) === 'expired') throw new SilenceError('silence is already expired', 400);
      await state.silenceSet({ ...s, startsAt: Math.min(s.startsAt, now), endsAt: now, updatedAt: now });
    },
    receivers: () => loaded.am.receivers.map((r) => r.name),
    configYaml: () => maskedConfigYaml(loaded.raw),
  };
  return notifier;
}
