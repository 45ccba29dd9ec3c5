/**
 * Alertmanager's template data (`.Receiver`, `.Status`, `.Alerts.Firing`,
 * `.GroupLabels`, `.CommonLabels`, `.CommonAnnotations`, `.ExternalURL`) built
 * from a notification, plus the helpers every receiver shares.
 */
import type { LabelSet } from './matchers.js';
import { isResolved, type Notification, type StoredAlert } from './types.js';

export interface TemplateAlert {
  Status: 'firing' | 'resolved';
  Labels: LabelSet;
  Annotations: LabelSet;
  StartsAt: Date;
  EndsAt: Date;
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

/** Adds Alertmanager's KV methods without making them iterable keys. */
function kv(m: LabelSet): LabelSet {
  const o: Record<string, string> = { ...m };
  const names = () => Object.keys(m).sort();
  Object.defineProperty(o, 'Names', { value: names, enumerable: false });
  Object.defineProperty(o, 'Values', { value: () => names().map((k) => m[k]), enumerable: false });
  Object.defineProperty(o, 'SortedPairs', { value: () => names().map((k) => ({ Name: k, Value: m[k] })), enumerable: false });
  Object.defineProperty(o, 'Remove', {
    value: (drop: string[]) => kv(Object.fromEntries(Object.entries(m).filter(([k]) => !drop.includes(k)))),
    enumerable: false,
  });
  return o;
}

function common(maps: LabelSet[]): LabelSet {
  if (maps.length === 0) return {};
  const out: Record<string, string> = { ...maps[0] };
  for (const m of maps.slice(1)) for (const k of Object.keys(out)) if (m[k] !== out[k]) delete out[k];
  return out;
}

export function alertStatus(a: StoredAlert, now: number): 'firing' | 'resolved' {
  return isResolved(a, now) ? 'resolved' : 'firing';
}

export function templateData(n: Notification): TemplateData {
  const alerts = n.alerts.map(
    (a): TemplateAlert => ({
      Status: alertStatus(a, n.now),
      Labels: kv(a.labels),
      Annotations: kv(a.annotations),
      StartsAt: new Date(a.startsAt),
      EndsAt: new Date(a.endsAt),
      GeneratorURL: a.generatorURL,
      Fingerprint: a.fingerprint,
    }),
  );
  Object.defineProperty(alerts, 'Firing', { value: () => alerts.filter((a) => a.Status === 'firing'), enumerable: false });
  Object.defineProperty(alerts, 'Resolved', { value: () => alerts.filter((a) => a.Status === 'resolved'), enumerable: false });
  return {
    Receiver: n.receiver,
    Status: alerts.some((a) => a.Status === 'firing') ? 'firing' : 'resolved',
    Alerts: alerts,
    GroupLabels: kv(n.groupLabels),
    CommonLabels: kv(common(n.alerts.map((a) => a.labels))),
    CommonAnnotations: kv(common(n.alerts.map((a) => a.annotations))),
    ExternalURL: n.externalUrl,
  };
}

export function firingCount(d: TemplateData): number {
  return d.Alerts.filter((a) => a.Status === 'firing').length;
}

/** `[FIRING:2] HighErrorRate (critical)`: Alertmanager's default title shape. */
export function defaultTitle(d: TemplateData): string {
  const n = firingCount(d);
  const head = `[${d.Status.toUpperCase()}${d.Status === 'firing' ? `:${n}` : ''}]`;
  const rest = Object.keys(d.GroupLabels)
    .sort()
    .map((k) => d.GroupLabels[k])
    .filter((v) => v !== d.GroupLabels.alertname);
  const extra = Object.keys(d.CommonLabels)
    .sort()
    .filter((k) => !(k in d.GroupLabels) && k === 'severity')
    .map((k) => d.CommonLabels[k]);
  return [head, d.GroupLabels.alertname ?? d.CommonLabels.alertname ?? '', [...rest, ...extra].length ? `(${[...rest, ...extra].join(' ')})` : '']
    .filter(Boolean)
    .join(' ');
}

/** Link to silence this group in Vigil: the Alertmanager-compatible UI path with a filter. */
export function silenceLink(externalUrl: string, labels: LabelSet): string {
  const filter = `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k].replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
    .join(',')}}`;
  return `${externalUrl.replace(/\/$/, '')}/-/silence?filter=${encodeURIComponent(filter)}`;
}
