/**
 * Webhook receiver: Alertmanager's webhook JSON (version "4") so existing
 * integrations work unchanged.
 */
import { templateData, type TemplateData } from '../template-data.js';
import { NotifyError, type Integration, type Notification } from '../types.js';
import { httpError, redactUrl } from './common.js';

export interface WebhookOptions {
  url: string;
  sendResolved: boolean;
  maxAlerts: number;
  index: number;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export function webhookMessage(n: Notification, d: TemplateData, maxAlerts: number) {
  const alerts = d.Alerts.map((a) => ({
    status: a.Status,
    labels: { ...a.Labels },
    annotations: { ...a.Annotations },
    startsAt: new Date(a.StartsAt.unixMs()).toISOString(),
    endsAt: new Date(a.EndsAt.unixMs()).toISOString(),
    generatorURL: a.GeneratorURL,
    fingerprint: a.Fingerprint,
  }));
  const kept = maxAlerts > 0 ? alerts.slice(0, maxAlerts) : alerts;
  return {
    receiver: d.Receiver,
    status: d.Status,
    alerts: kept,
    groupLabels: { ...d.GroupLabels },
    commonLabels: { ...d.CommonLabels },
    commonAnnotations: { ...d.CommonAnnotations },
    externalURL: d.ExternalURL,
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: alerts.length - kept.length,
  };
}

export function webhookIntegration(o: WebhookOptions): Integration {
  return {
    kind: 'webhook',
    index: o.index,
    sendResolved: o.sendResolved,
    notify: (n) => post(JSON.stringify(webhookMessage(n, templateData(n), o.maxAlerts))),
    // Not an Alertmanager payload: `status: "notice"` and no alerts, so an alert consumer can tell it apart.
    sendNotice: (n, receiver) => post(JSON.stringify({ version: '4', receiver, status: 'notice', alerts: [], title: n.title, text: n.text })),
  };

  async function post(body: string): Promise<void> {
    let res: Response;
    try {
      res = await fetch(o.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Vigil', ...o.headers },
        body,
        signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new NotifyError(`webhook ${redactUrl(o.url)}: ${(err as Error).message}`, true);
    }
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw httpError(`webhook ${redactUrl(o.url)}`, res.status, res.headers.get('retry-after'));
  }
}
