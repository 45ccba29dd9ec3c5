/**
 * Email receiver through nodemailer: pooled SMTP, STARTTLS required unless
 * `require_tls: false` (implicit TLS on port 465), auth when configured,
 * multipart HTML + text. Label and annotation values are HTML-escaped in the
 * HTML part, also inside a user `html:` template.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { AlertmanagerConfig, EmailConfig } from '../config.js';
import { secretValue } from '../config.js';
import { defaultTitle, silenceLink, templateData, withAlertsMethods, type TemplateAlert, type TemplateData } from '../template-data.js';
import type { Render } from '../templates.js';
import { NotifyError, type Integration } from '../types.js';
import { htmlEscape } from '../../../model/html.js';

export interface EmailOptions {
  config: EmailConfig;
  global: AlertmanagerConfig['global'];
  render: Render;
  index: number;
  timeoutMs?: number;
}

function alertText(a: TemplateAlert): string {
  const lines = [`Alert: ${a.Annotations.summary ?? a.Labels.alertname ?? ''}`];
  if (a.Annotations.description) lines.push(`Description: ${a.Annotations.description}`);
  lines.push('Labels:', ...Object.keys(a.Labels).sort().map((k) => `  - ${k} = ${a.Labels[k]}`));
  if (a.Annotations.runbook_url) lines.push(`Runbook: ${a.Annotations.runbook_url}`);
  if (a.GeneratorURL) lines.push(`Source: ${a.GeneratorURL}`);
  return lines.join('\n');
}

export function defaultText(d: TemplateData): string {
  const firing = d.Alerts.filter((a) => a.Status === 'firing');
  const resolved = d.Alerts.filter((a) => a.Status === 'resolved');
  const parts = [defaultTitle(d), ''];
  if (firing.length) parts.push(`Firing (${firing.length}):`, ...firing.map(alertText), '');
  if (resolved.length) parts.push(`Resolved (${resolved.length}):`, ...resolved.map(alertText), '');
  parts.push(`Sent by Vigil ${d.ExternalURL}`);
  return parts.join('\n');
}

function alertHtml(a: TemplateAlert, externalUrl: string): string {
  const e = htmlEscape;
  const color = a.Status === 'resolved' ? '#2eb886' : a.Labels.severity === 'critical' ? '#a30200' : '#daa038';
  const labels = Object.keys(a.Labels)
    .sort()
    .map((k) => `<li>${e(k)} = ${e(a.Labels[k])}</li>`)
    .join('');
  const links: string[] = [];
  const link = (u: string | undefined, t: string) => {
    if (u && /^https?:\/\//.test(u)) links.push(`<a href="${e(u)}">${t}</a>`);
  };
  link(a.Annotations.runbook_url, 'Runbook');
  link(a.Annotations.dashboard ?? a.Annotations.dashboard_url, 'Dashboard');
  link(a.GeneratorURL, 'Source');
  if (a.Status === 'firing') link(silenceLink(externalUrl, a.Labels), 'Silence');
  return (
    `<div style="border-left:4px solid ${color};padding:4px 12px;margin:8px 0">` +
    `<p><strong>Alert: ${e(a.Annotations.summary ?? a.Labels.alertname ?? '')}</strong></p>` +
    (a.Annotations.description ? `<p>Description: ${e(a.Annotations.description)}</p>` : '') +
    `<ul>${labels}</ul>` +
    (links.length ? `<p>${links.join(' | ')}</p>` : '') +
    `</div>`
  );
}

export function defaultHtml(d: TemplateData): string {
  return (
    `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${htmlEscape(defaultTitle(d))}</title></head><body>` +
    `<h2>${htmlEscape(defaultTitle(d))}</h2>` +
    d.Alerts.map((a) => alertHtml(a, d.ExternalURL)).join('') +
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
  const transport: Transporter = nodemailer.createTransport({
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
          text: c.text ? o.render(c.text, d) : defaultText(d),
          html: c.html ? o.render(c.html, escapedData(d)) : defaultHtml(d),
        });
      } catch (err) {
        const e = err as { responseCode?: number; message: string };
        // 5xx SMTP replies are permanent (bad recipient, rejected); everything else may clear.
        const permanent = e.responseCode !== undefined && e.responseCode >= 500 && e.responseCode < 600;
        throw new NotifyError(`email to ${c.to} via ${host}:${port}: ${e.message.split('\n')[0]}`, !permanent);
      }
    },
    async close() {
      transport.close();
    },
  };
}
