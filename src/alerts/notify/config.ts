/**
 * Alertmanager's configuration format (the subset Vigil implements), validated
 * with the same rules Alertmanager applies when loading: receivers referenced
 * exist, the root route has a receiver and no matchers, `...` stands alone,
 * email and Slack have somewhere to send to.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { durationMs, labelName, optionalString } from '../../config/types.js';
import { loadYamlFile, parseYamlText } from '../../config/yaml-file.js';
import { ConfigError } from '../../config/errors.js';
import { resolveHttpClientFiles } from '../../config/http-client.js';
import { parseMatchers } from './matchers.js';
import { compileRegex, RegexSyntaxError } from '../../model/regex.js';
import { goQuote } from '../../model/strconv.js';
import { validateTimeInterval } from './time-intervals.js';

const str = z.string();
/** Go's message as Alertmanager prints it, after the pattern it is about. */
const regexIssue = (err: unknown) =>
  err instanceof RegexSyntaxError ? `invalid regular expression ${goQuote(err.pattern)}: ${err.message}` : (err as Error).message;
const matcherList = z.array(z.string()).superRefine((list, ctx) => {
  list.forEach((m, i) => {
    try {
      parseMatchers(m);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: [i], message: regexIssue(err) });
    }
  });
});
const regexMap = z.record(labelName, z.string()).superRefine((map, ctx) => {
  for (const [k, v] of Object.entries(map)) {
    try {
      compileRegex(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: [k], message: regexIssue(err) });
    }
  }
});

/** Accepted as in Alertmanager; Vigil uses basic_auth, authorization and tls_config.insecure_skip_verify. */
const httpConfig = z
  .object({
    basic_auth: z.object({ username: str.optional(), password: str.optional(), password_file: str.optional() }).strict().optional(),
    authorization: z.object({ type: str.optional(), credentials: str.optional(), credentials_file: str.optional() }).strict().optional(),
    bearer_token: str.optional(),
    bearer_token_file: str.optional(),
    tls_config: z.object({ insecure_skip_verify: z.boolean().optional(), ca_file: str.optional(), server_name: str.optional() }).strict().optional(),
    proxy_url: str.optional(),
    follow_redirects: z.boolean().optional(),
    enable_http2: z.boolean().optional(),
  })
  .strict();

const globalSchema = z
  .object({
    resolve_timeout: durationMs.default(5 * 60_000),
    http_config: httpConfig.optional(),
    smtp_from: optionalString,
    smtp_hello: str.default('localhost'),
    smtp_smarthost: optionalString,
    smtp_auth_username: optionalString,
    smtp_auth_password: optionalString,
    smtp_auth_password_file: optionalString,
    smtp_auth_secret: optionalString,
    smtp_auth_identity: optionalString,
    // `${SMTP_REQUIRE_TLS:-true}` arrives as a boolean; an empty value means the default.
    smtp_require_tls: z
      .boolean()
      .nullish()
      .transform((v) => v ?? true),
    slack_api_url: z.url().nullish().transform((v) => v ?? undefined),
    slack_api_url_file: optionalString,
  })
  .strict();

const webhookConfig = z
  .object({
    send_resolved: z.boolean().default(true),
    url: z.url().optional(),
    url_file: str.optional(),
    max_alerts: z.number().int().nonnegative().default(0),
    http_config: httpConfig.optional(),
  })
  .strict()
  .refine((c) => !!c.url !== !!c.url_file, { message: 'one of url or url_file must be configured' });

const emailConfig = z
  .object({
    send_resolved: z.boolean().default(false),
    to: str.min(1, 'missing to address in email config'),
    from: str.optional(),
    hello: str.optional(),
    smarthost: str.optional(),
    auth_username: optionalString,
    auth_password: optionalString,
    auth_password_file: optionalString,
    auth_secret: str.optional(),
    auth_identity: str.optional(),
    headers: z.record(z.string(), z.string()).default({}),
    html: str.optional(),
    text: str.optional(),
    require_tls: z.boolean().optional(),
    tls_config: z.object({ insecure_skip_verify: z.boolean().optional(), ca_file: str.optional(), server_name: str.optional() }).strict().optional(),
  })
  .strict();

const slackField = z.object({ title: str, value: str, short: z.boolean().optional() }).strict();
const slackAction = z
  .object({ type: str, text: str, url: str.optional(), style: str.optional(), name: str.optional(), value: str.optional() })
  .strict();
const slackConfig = z
  .object({
    send_resolved: z.boolean().default(false),
    api_url: z.url().optional(),
    api_url_file: str.optional(),
    http_config: httpConfig.optional(),
    channel: str.optional(),
    username: str.optional(),
    color: str.optional(),
    title: str.optional(),
    title_link: str.optional(),
    pretext: str.optional(),
    text: str.optional(),
    fields: z.array(slackField).optional(),
    short_fields: z.boolean().optional(),
    footer: str.optional(),
    fallback: str.optional(),
    callback_id: str.optional(),
    icon_emoji: str.optional(),
    icon_url: str.optional(),
    image_url: str.optional(),
    thumb_url: str.optional(),
    link_names: z.boolean().optional(),
    mrkdwn_in: z.array(str).optional(),
    actions: z.array(slackAction).optional(),
  })
  .strict();

const receiverSchema = z
  .object({
    name: str.min(1, 'missing name in receiver'),
    webhook_configs: z.array(webhookConfig).default([]),
    email_configs: z.array(emailConfig).default([]),
    slack_configs: z.array(slackConfig).default([]),
  })
  .catchall(z.unknown())
  .superRefine((r, ctx) => {
    for (const k of Object.keys(r)) {
      if (!['name', 'webhook_configs', 'email_configs', 'slack_configs'].includes(k)) {
        ctx.addIssue({ code: 'custom', path: [k], message: `${k} is not supported by Vigil (supported: webhook_configs, email_configs, slack_configs)` });
      }
    }
  });

export interface RouteConfig {
  receiver?: string;
  group_by?: string[];
  continue: boolean;
  match?: Record<string, string>;
  match_re?: Record<string, string>;
  matchers?: string[];
  group_wait?: number;
  group_interval?: number;
  repeat_interval?: number;
  mute_time_intervals: string[];
  active_time_intervals: string[];
  routes: RouteConfig[];
}

const groupBy = z.array(z.string()).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((l, i) => {
    if (l === '...') {
      if (list.length > 1) ctx.addIssue({ code: 'custom', path: [i], message: "cannot have wildcard group_by (`...`) and other other labels at the same time" });
    } else if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l)) ctx.addIssue({ code: 'custom', path: [i], message: `invalid label name "${l}" in group_by list` });
    else if (seen.has(l)) ctx.addIssue({ code: 'custom', path: [i], message: `duplicated label "${l}" in group_by` });
    seen.add(l);
  });
});

const positiveDuration = (what: string) => durationMs.refine((v) => v > 0, { message: `${what} cannot be zero` });

const routeSchema: z.ZodType<RouteConfig> = z.lazy(() =>
  z
    .object({
      receiver: str.optional(),
      group_by: groupBy.optional(),
      continue: z.boolean().default(false),
      match: z.record(labelName, z.string()).optional(),
      match_re: regexMap.optional(),
      matchers: matcherList.optional(),
      group_wait: durationMs.optional(),
      group_interval: positiveDuration('group_interval').optional(),
      repeat_interval: positiveDuration('repeat_interval').optional(),
      mute_time_intervals: z.array(str).default([]),
      active_time_intervals: z.array(str).default([]),
      routes: z.array(routeSchema).default([]),
    })
    .strict(),
) as z.ZodType<RouteConfig>;

const inhibitRule = z
  .object({
    source_match: z.record(labelName, z.string()).optional(),
    source_match_re: regexMap.optional(),
    source_matchers: matcherList.optional(),
    target_match: z.record(labelName, z.string()).optional(),
    target_match_re: regexMap.optional(),
    target_matchers: matcherList.optional(),
    equal: z.array(labelName).default([]),
  })
  .strict();

const clock = /^([01]\d|2[0-4]):([0-5]\d)$/;
const timeRange = z
  .object({ start_time: z.string().regex(clock, 'must be HH:MM'), end_time: z.string().regex(clock, 'must be HH:MM') })
  .strict()
  .refine((t) => t.start_time < t.end_time, { message: 'start_time must be before end_time' });
const timeInterval = z
  .object({
    times: z.array(timeRange).optional(),
    weekdays: z.array(str).optional(),
    days_of_month: z.array(str).optional(),
    months: z.array(str).optional(),
    years: z.array(str).optional(),
    location: str.optional(),
  })
  .strict();
const namedTimeInterval = z.object({ name: str.min(1), time_intervals: z.array(timeInterval) }).strict();

export const alertmanagerConfigSchema = z
  .object({
    global: globalSchema.default(globalSchema.parse({})),
    route: routeSchema,
    inhibit_rules: z.array(inhibitRule).default([]),
    receivers: z.array(receiverSchema).default([]),
    templates: z.array(str).default([]),
    mute_time_intervals: z.array(namedTimeInterval).default([]),
    time_intervals: z.array(namedTimeInterval).default([]),
  })
  .strict()
  .superRefine((c, ctx) => validate(c as unknown as AlertmanagerConfig, ctx));

export type AlertmanagerConfig = z.output<typeof alertmanagerConfigSchema>;
export type ReceiverConfig = AlertmanagerConfig['receivers'][number];
export type SlackConfig = ReceiverConfig['slack_configs'][number];
export type EmailConfig = ReceiverConfig['email_configs'][number];
export type WebhookConfig = ReceiverConfig['webhook_configs'][number];
export type InhibitRuleConfig = AlertmanagerConfig['inhibit_rules'][number];
export type TimeIntervalConfig = z.output<typeof timeInterval>;

function validate(c: AlertmanagerConfig, ctx: z.RefinementCtx): void {
  const names = new Set<string>();
  c.receivers.forEach((r, i) => {
    if (names.has(r.name)) ctx.addIssue({ code: 'custom', path: ['receivers', i, 'name'], message: `notification config name "${r.name}" is not unique` });
    names.add(r.name);
    r.email_configs.forEach((e, j) => {
      if (!e.smarthost && !c.global.smtp_smarthost)
        ctx.addIssue({ code: 'custom', path: ['receivers', i, 'email_configs', j], message: 'no global SMTP smarthost set' });
      if (!e.from && !c.global.smtp_from) ctx.addIssue({ code: 'custom', path: ['receivers', i, 'email_configs', j], message: 'no global SMTP from set' });
    });
    r.slack_configs.forEach((s, j) => {
      if (!s.api_url && !s.api_url_file && !c.global.slack_api_url && !c.global.slack_api_url_file)
        ctx.addIssue({ code: 'custom', path: ['receivers', i, 'slack_configs', j], message: 'no global Slack API URL set either inline or in a file' });
    });
  });
  const intervals = new Set<string>();
  for (const [key, list] of [['time_intervals', c.time_intervals], ['mute_time_intervals', c.mute_time_intervals]] as const) {
    list.forEach((t, i) => {
      if (intervals.has(t.name)) ctx.addIssue({ code: 'custom', path: [key, i, 'name'], message: `time interval "${t.name}" is not unique` });
      intervals.add(t.name);
      t.time_intervals.forEach((ti, j) => {
        try {
          validateTimeInterval(ti);
        } catch (err) {
          ctx.addIssue({ code: 'custom', path: [key, i, 'time_intervals', j], message: (err as Error).message });
        }
      });
    });
  }
  if (!c.route.receiver) ctx.addIssue({ code: 'custom', path: ['route', 'receiver'], message: 'root route must specify a default receiver' });
  if (c.route.match || c.route.match_re || c.route.matchers?.length)
    ctx.addIssue({ code: 'custom', path: ['route'], message: 'root route must not have any matchers' });
  if (c.route.mute_time_intervals.length || c.route.active_time_intervals.length)
    ctx.addIssue({ code: 'custom', path: ['route'], message: 'root route must not have any mute time intervals' });
  const walk = (r: RouteConfig, path: (string | number)[]) => {
    if (r.receiver && !names.has(r.receiver)) ctx.addIssue({ code: 'custom', path: [...path, 'receiver'], message: `undefined receiver "${r.receiver}" used in route` });
    for (const k of ['mute_time_intervals', 'active_time_intervals'] as const) {
      r[k].forEach((n, i) => {
        if (!intervals.has(n)) ctx.addIssue({ code: 'custom', path: [...path, k, i], message: `undefined time interval "${n}" used in route` });
      });
    }
    r.routes.forEach((child, i) => walk(child, [...path, 'routes', i]));
  };
  walk(c.route, ['route']);
}

/** Reads a value given inline or by `*_file` (trailing newline trimmed, as Alertmanager does for URLs). */
export function secretValue(inline: string | undefined, file: string | undefined): string | undefined {
  if (inline) return inline;
  if (!file) return undefined;
  return readFileSync(file, 'utf8').trim();
}

/** Relative files (secrets, templates) resolve against the config file's directory, as in Alertmanager. */
export function loadAlertmanagerConfig(file: string, env?: NodeJS.ProcessEnv): AlertmanagerConfig {
  return resolveAlertmanagerPaths(loadYamlFile(file, alertmanagerConfigSchema, { env }), dirname(resolve(file)));
}

/** Makes the config's relative file paths absolute against `dir`, in place. */
export function resolveAlertmanagerPaths(c: AlertmanagerConfig, dir: string): AlertmanagerConfig {
  // Only fields that are set are written: `global` may be the schema's shared default object.
  const abs = (p: string) => resolve(dir, p);
  const g = c.global;
  if (g.smtp_auth_password_file) g.smtp_auth_password_file = abs(g.smtp_auth_password_file);
  if (g.slack_api_url_file) g.slack_api_url_file = abs(g.slack_api_url_file);
  if (g.http_config) resolveHttpClientFiles(g.http_config, dir);
  for (const r of c.receivers) {
    for (const s of r.slack_configs) {
      if (s.api_url_file) s.api_url_file = abs(s.api_url_file);
      if (s.http_config) resolveHttpClientFiles(s.http_config, dir);
    }
    for (const w of r.webhook_configs) {
      if (w.url_file) w.url_file = abs(w.url_file);
      if (w.http_config) resolveHttpClientFiles(w.http_config, dir);
    }
    for (const m of r.email_configs) {
      if (m.auth_password_file) m.auth_password_file = abs(m.auth_password_file);
      if (m.tls_config?.ca_file) m.tls_config.ca_file = abs(m.tls_config.ca_file);
    }
  }
  c.templates = c.templates.map((t) => resolve(dir, t));
  return c;
}

export function parseAlertmanagerConfig(text: string, file = '<inline>', env?: NodeJS.ProcessEnv): AlertmanagerConfig {
  return parseYamlText(text, file, alertmanagerConfigSchema, { env });
}

/** Checks every `*_file` secret is readable, so a typo fails at load and not at 3 am. */
export function checkSecretFiles(c: AlertmanagerConfig, file: string): void {
  const issues: { path: string; message: string }[] = [];
  const check = (p: string | undefined, path: string) => {
    if (!p) return;
    try {
      readFileSync(p);
    } catch (err) {
      issues.push({ path, message: `cannot read secret file: ${(err as NodeJS.ErrnoException).code ?? 'error'}` });
    }
  };
  check(c.global.slack_api_url_file, 'global.slack_api_url_file');
  check(c.global.smtp_auth_password_file, 'global.smtp_auth_password_file');
  c.receivers.forEach((r, i) => {
    r.slack_configs.forEach((s, j) => check(s.api_url_file, `receivers[${i}].slack_configs[${j}].api_url_file`));
    r.email_configs.forEach((s, j) => check(s.auth_password_file, `receivers[${i}].email_configs[${j}].auth_password_file`));
    r.webhook_configs.forEach((s, j) => check(s.url_file, `receivers[${i}].webhook_configs[${j}].url_file`));
  });
  if (issues.length) throw new ConfigError(file, issues);
}
