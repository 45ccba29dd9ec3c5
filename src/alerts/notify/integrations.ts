/**
 * Builds each receiver's integrations (webhook, email, Slack) from the config,
 * resolving secrets given inline or by file.
 */
import type { Clock } from './clock.js';
import { secretValue, type AlertmanagerConfig } from './config.js';
import { emailIntegration } from './receivers/email.js';
import { slackIntegration } from './receivers/slack.js';
import { webhookIntegration } from './receivers/webhook.js';
import { makeRenderer, readTemplateFiles } from './templates.js';
import type { Integration } from './types.js';

/** `clock` times the Slack send deadline (tests move it instead of waiting). */
export function buildIntegrations(am: AlertmanagerConfig, clock?: Clock): Map<string, Integration[]> {
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
      list.push(slackIntegration({ url, config, render, index, clock }));
    });
    out.set(r.name, list);
  }
  return out;
}

