/**
 * Alertmanager's template data (`.Receiver`, `.Status`, `.Alerts.Firing`,
 * `.GroupLabels`, `.CommonLabels`, `.CommonAnnotations`, `.ExternalURL`) built
 * from a notification, plus the helpers every receiver shares.
 */
import { GoTime } from '../template/index.js';
import type { LabelSet } from './matchers.js';
import { isResolved, type Notification, type StoredAlert } from './types.js';

export interface TemplateAlert {
  Status: 'firing' | 'resolved';
  Labels: LabelSet;
  Annotations: LabelSet;
  StartsAt: GoTime;
  EndsAt: GoTime;
  GeneratorURL: string;
  Fingerprint: string;
}

export interface TemplateData {
  Receiver: string;
  Status: 'firing' | 'resolved';
  Alerts: TemplateAlert[];
  GroupLabels: LabelSet;
  CommonLabels: LabelSet;
  CommonAnnotations: LabelSet;
  ExternalURL: string;
}

function common(maps: LabelSet[]): LabelSet {
  if (maps.length === 0) return {};
  const out: Record<string, string> = { ...maps[0] };
  for (const m of maps.slice(1)) for (const k of Object.keys(out)) if (m[k] !== out[k]) delete out[k];
  return out;
}

/** Marks a value as a Go struct for the template engine: fields are checked and methods callable. */
function goStruct<T extends object>(type: string, v: T): T {
  Object.defineProperty(v, '__goType', { value: type, enumerable: false });
  return v;
}

/** `.Alerts.Firing` / `.Alerts.Resolved`: Alertmanager's Alerts slice methods, invisible to range and JSON. */
export function withAlertsMethods<T extends { Status: string }>(alerts: T[]): T[] {
  goStruct('template.Alerts', alerts);
  Object.defineProperty(alerts, 'Firing', { value: () => withAlertsMethods(alerts.filter((a) => a.Status === 'firing')), enumerable: false });
  Object.defineProperty(alerts, 'Resolved', { value: () => withAlertsMethods(alerts.filter((a) => a.Status === 'resolved')), enumerable: false });
  return alerts;
}

export function alertStatus(a: StoredAlert, now: number): 'firing' | 'resolved' {
  return isResolved(a, now) ? 'resolved' : 'firing';
}

/** A dashboard annotation given as a Grafana path (`/d/uid`) made absolute under grafana.url, for templates and links alike. */
function withDashboardBase(annotations: LabelSet, base: string | undefined): LabelSet {
  const d = annotations.dashboard;
  if (!base || !d || !d.startsWith('/') || d.startsWith('//')) return annotations;
  return { ...annotations, dashboard: `${base.replace(/\/$/, '')}${d}` };
}

export function templateData(n: Notification): TemplateData {
  const alerts = n.alerts.map(
    (a): TemplateAlert =>
      goStruct('template.Alert', {
      Status: alertStatus(a, n.now),
      Labels: a.labels,
      Annotations: withDashboardBase(a.annotations, n.dashboardUrl),
      StartsAt: GoTime.fromMs(a.startsAt),
      EndsAt: GoTime.fromMs(a.endsAt),
      GeneratorURL: a.generatorURL,
      Fingerprint: a.fingerprint,
      }),
  );
  withAlertsMethods(alerts);
  return goStruct('template.Data', {
    Receiver: n.receiver,
    Status: alerts.some((a) => a.Status === 'firing') ? 'firing' : 'resolved',
    Alerts: alerts,
    GroupLabels: n.groupLabels,
    CommonLabels: common(n.alerts.map((a) => a.labels)),
    CommonAnnotations: common(alerts.map((a) => a.Annotations)),
    ExternalURL: n.externalUrl,
  });
}

export function firingCount(d: TemplateData): number {
  return d.Alerts.filter((a) => a.Status === 'firing').length;
}

/**
 * Alertmanager's default subject (`__subject`): status and firing count, the
 * group label values, then in parentheses the values of the labels every alert
 * shares beyond the group labels, so a single instance shows in the first line.
 */
export function defaultTitle(d: TemplateData): string {
  const n = firingCount(d);
  const head = `[${d.Status.toUpperCase()}${d.Status === 'firing' ? `:${n}` : ''}]`;
  const groupValues = Object.keys(d.GroupLabels)
    .sort()
    .map((k) => d.GroupLabels[k]);
  const extra = Object.keys(d.CommonLabels)
    .filter((k) => !(k in d.GroupLabels))
    .sort()
    .map((k) => d.CommonLabels[k]);
  return [head, ...groupValues, extra.length ? `(${extra.join(' ')})` : ''].filter(Boolean).join(' ');
}

export interface AlertLinks {
  runbook?: string;
  dashboard?: string;
  source?: string;
  silence?: string;
}

const absolute = (u: string | undefined): string | undefined => (u && /^https?:\/\//i.test(u) ? u : undefined);

/** What an alert's Source link shows: an hour, most of it before the alert fired. */
const SOURCE_RANGE = '1h';
const SOURCE_AFTER_MS = 15 * 60_000;

/**
 * An alert's Source link pinned to when it fired. The generator URL
 * (`/graph?g0.expr=…`, as Prometheus builds it) carries no time, so a link
 * opened hours later would chart the last hour instead of the firing. Vigil's
 * graph page and Prometheus's read `g0.end_input` (UTC `2006-01-02 15:04:05`)
 * and `g0.range_input`; a URL that already sets them, or is no graph link, is
 * left as it is.
 */
export function sourceLink(generatorURL: string, startsAtMs: number): string | undefined {
  const url = absolute(generatorURL);
  if (!url || !Number.isFinite(startsAtMs) || startsAtMs <= 0 || !/\/graph\?(?:[^#]*&)?g0\.expr=/.test(url) || /[?&]g0\.end_input=/.test(url)) return url;
  const end = new Date(startsAtMs + SOURCE_AFTER_MS).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
  const range = /[?&]g0\.range_input=/.test(url) ? '' : `&g0.range_input=${SOURCE_RANGE}`;
  return `${url}${range}&g0.end_input=${encodeURIComponent(end)}`;
}

/**
 * The links every receiver shows for one alert. A dashboard annotation may be a
 * Grafana path (`/d/uid`); it becomes a link under `dashboardBase` (grafana.url),
 * and stays as plain text in `dashboardText` without one.
 */
export function alertLinks(a: TemplateAlert, externalUrl: string, dashboardBase?: string): AlertLinks & { dashboardText?: string } {
  const dash = a.Annotations.dashboard ?? a.Annotations.dashboard_url;
  let dashboard = absolute(dash);
  if (!dashboard && dash && dash.startsWith('/') && dashboardBase) dashboard = absolute(`${dashboardBase.replace(/\/$/, '')}${dash}`);
  return {
    runbook: absolute(a.Annotations.runbook_url ?? a.Annotations.runbook),
    dashboard,
    dashboardText: dashboard ? undefined : dash || undefined,
    source: sourceLink(a.GeneratorURL, a.StartsAt.unixMs()),
    silence: a.Status === 'firing' ? silenceLink(externalUrl, a.Labels) : undefined,
  };
}

/** Link to silence this group in Vigil: the Alertmanager-compatible UI path with a filter. */
export function silenceLink(externalUrl: string, labels: LabelSet): string {
  const filter = `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k].replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
    .join(',')}}`;
  return `${externalUrl.replace(/\/$/, '')}/-/silence?filter=${encodeURIComponent(filter)}`;
}
