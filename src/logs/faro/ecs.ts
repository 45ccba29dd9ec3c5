import { ECS_VERSION } from '../ecs.js';
import type { FaroBody } from './payload.js';

type Doc = Record<string, unknown>;
type Exception = NonNullable<FaroBody['exceptions']>[number];
type Log = NonNullable<FaroBody['logs']>[number];
type FaroEvent = NonNullable<FaroBody['events']>[number];

function iso(ts: string): string {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? new Date().toISOString() : d.toISOString();
}

function urlPath(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}

/** ECS fields every Faro document carries: service, user agent, page, session, user. */
export function metaToEcs(meta: FaroBody['meta'], clientIp: string | undefined): Doc {
  const doc: Doc = { ecs: { version: ECS_VERSION } };
  const service: Doc = { name: meta.app?.name ?? 'unknown-web-app' };
  if (meta.app?.version) service.version = meta.app.version;
  if (meta.app?.environment) service.environment = meta.app.environment;
  doc.service = service;
  if (meta.browser?.userAgent) doc.user_agent = { original: meta.browser.userAgent };
  if (meta.page?.url) doc.url = { full: meta.page.url, path: urlPath(meta.page.url) };
  if (clientIp) doc.client = { ip: clientIp };
  const user: Doc = {};
  if (meta.user?.id) user.id = meta.user.id;
  if (meta.user?.username) user.name = meta.user.username;
  if (meta.user?.email) user.email = meta.user.email;
  if (Object.keys(user).length) doc.user = user;
  const labels: Doc = {};
  if (meta.session?.id) labels.session_id = meta.session.id;
  if (meta.page?.id) labels.page_id = meta.page.id;
  if (meta.view?.name) labels.view = meta.view.name;
  if (meta.browser?.name) labels.browser_name = meta.browser.name;
  if (meta.browser?.version) labels.browser_version = meta.browser.version;
  if (meta.browser?.os) labels.browser_os = meta.browser.os;
  if (meta.sdk?.version) labels.faro_sdk_version = meta.sdk.version;
  if (Object.keys(labels).length) doc.labels = labels;
  return doc;
}

function withTrace(doc: Doc, t: { trace_id?: string; span_id?: string } | undefined): void {
  if (t?.trace_id) doc.trace = { id: t.trace_id };
  if (t?.span_id) doc.span = { id: t.span_id };
}

function addContext(doc: Doc, ctx: Record<string, string> | null | undefined): void {
  if (!ctx) return;
  const labels = (doc.labels ??= {}) as Doc;
  for (const [k, v] of Object.entries(ctx).slice(0, 32)) labels[`ctx_${k.replace(/[^a-zA-Z0-9_]/g, '_').slice(0, 60)}`] = v;
}

/** A browser-style stack trace from Faro's frames (`at fn (file:line:col)`). */
export function formatStack(e: Exception): string {
  const frames = e.stacktrace?.frames ?? [];
  const lines = [`${e.type}: ${e.value}`];
  for (const f of frames) {
    const loc = `${f.filename}${f.lineno !== undefined ? `:${f.lineno}` : ''}${f.colno !== undefined ? `:${f.colno}` : ''}`;
    lines.push(`    at ${f.function || '<anonymous>'} (${loc})`);
  }
  return lines.join('\n');
}

export function exceptionToEcs(e: Exception, base: Doc): Doc {
  const doc: Doc = {
    ...structuredClone(base),
    '@timestamp': iso(e.timestamp),
    message: `${e.type}: ${e.value}`,
    log: { level: 'error', logger: 'faro' },
    error: { type: e.type, message: e.value, stack_trace: formatStack(e) },
    event: { kind: 'event', category: ['web'], type: ['error'], dataset: 'faro.exception' },
  };
  withTrace(doc, e.trace);
  addContext(doc, e.context);
  if (e.fingerprint) (doc.error as Doc).id = e.fingerprint;
  return doc;
}

export function logToEcs(l: Log, base: Doc): Doc {
  const doc: Doc = {
    ...structuredClone(base),
    '@timestamp': iso(l.timestamp),
    message: l.message,
    log: { level: l.level.toLowerCase(), logger: 'faro' },
    event: { kind: 'event', category: ['web'], type: ['info'], dataset: 'faro.log' },
  };
  withTrace(doc, l.trace);
  addContext(doc, l.context);
  return doc;
}

export function eventToEcs(ev: FaroEvent, base: Doc): Doc {
  const doc: Doc = {
    ...structuredClone(base),
    '@timestamp': iso(ev.timestamp),
    message: ev.name,
    log: { level: 'info', logger: 'faro' },
    event: { kind: 'event', category: ['web'], type: ['info'], action: ev.name, dataset: 'faro.event' },
  };
  if (ev.domain) ((doc.labels ??= {}) as Doc).event_domain = ev.domain;
  withTrace(doc, ev.trace);
  addContext(doc, ev.attributes);
  return doc;
}
