/**
 * Email receiver through nodemailer: pooled SMTP, STARTTLS required unless
 * `require_tls: false` (implicit TLS on port 465), auth when configured,
 * multipart HTML + text. Label and annotation values are HTML-escaped in the
 * HTML part, also inside a user `html:` template.
 */
import type { Transporter } from 'nodemailer';
import type { AlertmanagerConfig, EmailConfig } from '../config.js';
import { secretValue } from '../config.js';
import { alertLinks, defaultTitle, templateData, withAlertsMethods, type TemplateAlert, type TemplateData } from '../template-data.js';
import type { Render } from '../templates.js';
import { NotifyError, type Integration } from '../types.js';
import { htmlEscape } from '../../../model/html.js';
import { lazyRequire } from '../../../util/lazy-require.js';

const nodemailer = lazyRequire<typeof import('nodemailer')>('nodemailer');

export interface EmailOptions {
  config: EmailConfig;
  global: AlertmanagerConfig['global'];
  render: Render;
  index: number;
  timeoutMs?: number;
}

function alertText(a: TemplateAlert, externalUrl: string, dashboardUrl: string | undefined): string {
  const lines = [`[${a.Status.toUpperCase()}] ${a.Annotations.summary ?? a.Labels.alertname ?? ''}${a.Labels.instance ? ` on ${a.Labels.instance}` : ''}`];
  if (a.Annotations.description) lines.push(`Description: ${a.Annotations.description}`);
  lines.push('Labels:', ...Object.keys(a.Labels).sort().map((k) => `  - ${k} = ${a.Labels[k]}`));
  const l = alertLinks(a, externalUrl, dashboardUrl);
  if (l.runbook) lines.push(`Runbook: ${l.runbook}`);
  if (l.dashboard ?? l.dashboardText) lines.push(`Dashboard: ${l.dashboard ?? l.dashboardText}`);
  if (l.source) lines.push(`Source: ${l.source}`);
  if (l.silence) lines.push(`Silence: ${l.silence}`);
  return lines.join('\n');
}

/** Plain-text body: the subject line first (status, alert, instance), then each alert with its links. */
export function defaultText(d: TemplateData, dashboardUrl?: string): string {
  const firing = d.Alerts.filter((a) => a.Status === 'firing');
  const resolved = d.Alerts.filter((a) => a.Status === 'resolved');
  const parts = [defaultTitle(d), ''];
  if (firing.length) parts.push(`Firing (${firing.length}):`, ...firing.map((a) => alertText(a, d.ExternalURL, dashboardUrl)), '');
  if (resolved.length) parts.push(`Resolved (${resolved.length}):`, ...resolved.map((a) => alertText(a, d.ExternalURL, dashboardUrl)), '');
  parts.push(`Sent by Vigil ${d.ExternalURL}`);
  return parts.join('\n');
}

function alertHtml(a: TemplateAlert, externalUrl: string, dashboardUrl: string | undefined): string {
  const e = htmlEscape;
  const color = a.Status === 'resolved' ? '#2eb886' : a.Labels.severity === 'critical' ? '#a30200' : '#daa038';
  const labels = Object.keys(a.Labels)
    .sort()
    .map((k) => `<li>${e(k)} = ${e(a.Labels[k])}</li>`)
    .join('');
  const l = alertLinks(a, externalUrl, dashboardUrl);
  const links: string[] = [];
  const link = (u: string | undefined, t: string) => {
    if (u) links.push(`<a href="${e(u)}">${t}</a>`);
  };
  link(l.runbook, 'Runbook');
  link(l.dashboard, 'Dashboard');
  if (l.dashboardText) links.push(`Dashboard: ${e(l.dashboardText)}`);
  link(l.source, 'Source');
  link(l.silence, 'Silence');
  return (
    `<div style="border-left:4px solid ${color};padding:4px 12px;margin:8px 0">` +
    `<p><strong>[${a.Status.toUpperCase()}] ${e(a.Annotations.summary ?? a.Labels.alertname ?? '')}</strong>${a.Labels.instance ? ` on ${e(a.Labels.instance)}` : ''}</p>` +
    (a.Annotations.description ? `<p>Description: ${e(a.Annotations.description)}</p>` : '') +
    `<ul>${labels}</ul>` +
    (links.length ? `<p>${links.join(' | ')}</p>` : '') +
    `</div>`
  );
}

export function defaultHtml(d: TemplateData, dashboardUrl?: string): string {
  return (
    `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${htmlEscape(defaultTitle(d))}</title></head><body>` +
    `<h2>${htmlEscape(defaultTitle(d))}</h2>` +
    d.Alerts.map((a) => alertHtml(a, d.ExternalURL, dashboardUrl)).join('') +
    `<p style="color:#888">Sent by <a href="${htmlEscape(d.ExternalURL)}">Vigil</a></p></body></html>`
  );
}

/** The same data with every label and annotation value HTML-escaped, for user html templates. */
function escapedData(d: TemplateData): TemplateData {
  const esc = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [htmlEscape(k), htmlEscape(v)]));
  const alerts = d.Alerts.map((a) => ({ ...a, Labels: esc(a.Labels), Annotations: esc(a.Annotations) }));
  withAlertsMethods(alerts);
  return { ...d, Alerts: alerts, GroupLabels: esc(d.GroupLabels), CommonLabels: esc(d.CommonLabels), CommonAnnotations: esc(d.CommonAnnotations) };
}

function splitHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  if (i < 0) throw new Error(`smarthost "${s}" must be host:port`);
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}

export function emailIntegration(o: EmailOptions): Integration {
  const c = o.config;
  const g = o.global;
  const { host, port } = splitHostPort(c.smarthost ?? g.smtp_smarthost!);
  const requireTls = c.require_tls ?? g.smtp_require_tls;
  const user = c.auth_username ?? g.smtp_auth_username;
  const pass = secretValue(c.auth_password, c.auth_password_file) ?? secretValue(g.smtp_auth_password, g.smtp_auth_password_file);
  const transport: Transporter = nodemailer().createTransport({
    pool: true,
    maxConnections: 2,
    host,
    port,
    secure: port === 465,
    requireTLS: port !== 465 && requireTls,
    ignoreTLS: port !== 465 && !requireTls,
    name: c.hello ?? g.smtp_hello,
    auth: user ? { user, pass } : undefined,
    tls: { rejectUnauthorized: !c.tls_config?.insecure_skip_verify, servername: c.tls_config?.server_name },
    connectionTimeout: o.timeoutMs ?? 10_000,
    greetingTimeout: o.timeoutMs ?? 10_000,
    socketTimeout: o.timeoutMs ?? 30_000,
    logger: false,
  });
  const from = c.from ?? g.smtp_from!;
  const sendError = (err: unknown): NotifyError => {
    const e = err as { responseCode?: number; message: string };
    // 5xx SMTP replies are permanent (bad recipient, rejected); everything else may clear.
    const permanent = e.responseCode !== undefined && e.responseCode >= 500 && e.responseCode < 600;
    return new NotifyError(`email to ${c.to} via ${host}:${port}: ${e.message.split('\n')[0]}`, !permanent);
  };
  return {
    kind: 'email',
    index: o.index,
    sendResolved: c.send_resolved,
    async notify(n) {
      const d = templateData(n);
      const headers: Record<string, string> = {};
      let subject = defaultTitle(d);
      for (const [k, v] of Object.entries(c.headers)) {
        const val = o.render(v, d).replace(/[\r\n]+/g, ' ');
        if (k.toLowerCase() === 'subject') subject = val;
        else if (!['to', 'from'].includes(k.toLowerCase())) headers[k] = val;
      }
      try {
        await transport.sendMail({
          from: o.render(from, d),
          to: o.render(c.to, d),
          subject,
          headers,
          text: c.text ? o.render(c.text, d) : defaultText(d, n.dashboardUrl),
          html: c.html ? o.render(c.html, escapedData(d)) : defaultHtml(d, n.dashboardUrl),
        });
      } catch (err) {
        throw sendError(err);
      }
    },
    async sendNotice(notice, receiver) {
      // Addresses may be templates over alert data; a notice has none but the receiver.
      const d = templateData({ receiver, groupKey: '', groupLabels: {}, alerts: [], now: Date.now(), externalUrl: '' });
      try {
        await transport.sendMail({
          from: o.render(from, d),
          to: o.render(c.to, d),
          subject: notice.title.replace(/[\r\n]+/g, ' '),
          text: notice.text,
          html: `<!DOCTYPE html><html><body><pre style="font-family:monospace">${htmlEscape(notice.text)}</pre></body></html>`,
        });
      } catch (err) {
        throw sendError(err);
      }
    },
    async close() {
      transport.close();
    },
  };
}
