/**
 * Slack receiver (an incoming webhook): a Block Kit message inside an
 * attachment whose colour says status and severity, a `[FIRING:2] Name (sev)`
 * header, each alert's summary, description and labels, and links to the
 * runbook, dashboard, source and a one-click silence.
 */
import { systemClock, type Clock } from '../clock.js';
import type { SlackConfig } from '../config.js';
import { alertLinks, defaultTitle, templateData, type TemplateAlert, type TemplateData } from '../template-data.js';
import type { Render } from '../templates.js';
import { NotifyError, type Integration } from '../types.js';
import { httpError, redactUrl, slackEscape, truncate } from './common.js';
import { postJson } from './http-post.js';

export interface SlackOptions {
  url: string;
  config: SlackConfig;
  render: Render;
  index: number;
  timeoutMs?: number;
  clock?: Clock;
}

const COLORS = { resolved: '#2eb886', critical: '#a30200', warning: '#daa038', other: '#439fe0' };

export function slackColor(d: TemplateData): string {
  if (d.Status === 'resolved') return COLORS.resolved;
  const sev = d.Alerts.filter((a) => a.Status === 'firing').map((a) => a.Labels.severity);
  if (sev.includes('critical')) return COLORS.critical;
  if (sev.includes('warning')) return COLORS.warning;
  return COLORS.other;
}

function alertBlocks(a: TemplateAlert, externalUrl: string, dashboardUrl: string | undefined): object[] {
  const icon = a.Status === 'resolved' ? ':white_check_mark:' : a.Labels.severity === 'critical' ? ':red_circle:' : ':warning:';
  const summary = a.Annotations.summary ?? a.Labels.alertname ?? 'alert';
  const where = a.Labels.instance ? ` on ${slackEscape(a.Labels.instance)}` : '';
  const lines = [`${icon} *${a.Status.toUpperCase()}: ${slackEscape(summary)}*${where}`];
  if (a.Annotations.description) lines.push(slackEscape(a.Annotations.description));
  const labels = Object.keys(a.Labels)
    .sort()
    .map((k) => `\`${slackEscape(k)}=${slackEscape(a.Labels[k])}\``)
    .join(' ');
  const l = alertLinks(a, externalUrl, dashboardUrl);
  const links: string[] = [];
  const link = (url: string | undefined, text: string) => {
    if (url) links.push(`<${url.replace(/[<>|]/g, encodeURIComponent)}|${text}>`);
  };
  link(l.runbook, 'Runbook');
  link(l.dashboard, 'Dashboard');
  if (l.dashboardText) links.push(`Dashboard: ${slackEscape(l.dashboardText)}`);
  link(l.source, 'Source');
  link(l.silence, 'Silence');
  const blocks: object[] = [{ type: 'section', text: { type: 'mrkdwn', text: truncate(lines.join('\n'), 3000) } }];
  const ctx = [labels, links.join(' · ')].filter(Boolean);
  if (ctx.length) blocks.push({ type: 'context', elements: ctx.map((t) => ({ type: 'mrkdwn', text: truncate(t, 2000) })) });
  return blocks;
}

export function slackMessage(d: TemplateData, cfg: SlackConfig, render: Render, dashboardUrl?: string): Record<string, unknown> {
  const header = defaultTitle(d);
  const title = cfg.title ? render(cfg.title, d) : header;
  // Slack caps a message at 50 blocks; keep the header and room for the trailer.
  const perAlert = d.Alerts.slice(0, 20).flatMap((a) => alertBlocks(a, d.ExternalURL, dashboardUrl));
  const blocks: object[] = [{ type: 'header', text: { type: 'plain_text', text: truncate(slackEscape(header), 150) } }, ...perAlert];
  if (d.Alerts.length > 20) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${d.Alerts.length - 20} more alerts` }] });
  const attachment: Record<string, unknown> = {
    color: cfg.color ? render(cfg.color, d) : slackColor(d),
    fallback: cfg.fallback ? render(cfg.fallback, d) : title,
    title,
    blocks,
  };
  if (cfg.title_link) attachment.title_link = render(cfg.title_link, d);
  if (cfg.pretext) attachment.pretext = render(cfg.pretext, d);
  if (cfg.text) attachment.text = render(cfg.text, d);
  if (cfg.footer) attachment.footer = render(cfg.footer, d);
  if (cfg.fields) attachment.fields = cfg.fields.map((f) => ({ title: render(f.title, d), value: render(f.value, d), short: f.short ?? cfg.short_fields ?? false }));
  // The message text is what Slack shows in notifications: status and instance always in it.
  const msg: Record<string, unknown> = { text: slackEscape(title === header ? header : `${title} ${header}`), attachments: [attachment] };
  if (cfg.channel) msg.channel = render(cfg.channel, d);
  if (cfg.username) msg.username = render(cfg.username, d);
  if (cfg.icon_emoji) msg.icon_emoji = render(cfg.icon_emoji, d);
  if (cfg.icon_url) msg.icon_url = render(cfg.icon_url, d);
  if (cfg.link_names) msg.link_names = true;
  return msg;
}

export function slackIntegration(o: SlackOptions): Integration {
  return {
    kind: 'slack',
    index: o.index,
    sendResolved: o.config.send_resolved,
    async notify(n) {
      await send(slackMessage(templateData(n), o.config, o.render, n.dashboardUrl));
    },
    async sendNotice(notice) {
      const msg: Record<string, unknown> = {
        text: slackEscape(notice.title),
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text: truncate('```' + slackEscape(notice.text) + '```', 3000) } }],
      };
      if (o.config.channel && !o.config.channel.includes('{{')) msg.channel = o.config.channel;
      if (o.config.username && !o.config.username.includes('{{')) msg.username = o.config.username;
      await send(msg);
    },
  };

  async function send(msg: Record<string, unknown>): Promise<void> {
    let status: number;
    let retryAfter: string | string[] | undefined;
    try {
      const res = await postJson(o.url, JSON.stringify(msg), { timeoutMs: o.timeoutMs ?? 10_000, clock: o.clock ?? systemClock });
      status = res.status;
      retryAfter = res.headers['retry-after'];
    } catch (err) {
      // Network errors and timeouts: Slack may or may not have posted; Alertmanager retries too.
      throw new NotifyError(`slack ${redactUrl(o.url)}: ${(err as Error).message.replace(o.url, redactUrl(o.url))}`, true);
    }
    if (status < 200 || status >= 300) throw httpError(`slack ${redactUrl(o.url)}`, status, retryAfter);
  }
}
