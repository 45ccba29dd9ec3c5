/**
 * Alertmanager v2 API (the parts amtool and Grafana use): alerts, alert
 * groups, silences, status, receivers. Shapes follow Alertmanager's OpenAPI
 * spec so `amtool --alertmanager.url=...` works against Vigil. Calls that change
 * state need the configured bearer token (amtool: --http.config.file).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AlertStatusView, Notifier } from '../alerts/notify/index.js';
import { matchesAll, parseMatchers, type Matcher } from '../alerts/notify/matchers.js';
import { compileRegex, type Regex } from '../model/regex.js';
import { SilenceError, silenceState, type Silence } from '../alerts/notify/silences.js';
import type { Alert } from '../alerts/types.js';
import { requireToken } from './auth.js';

export interface AlertmanagerApiOptions {
  notifier: Notifier;
  token?: string;
  version?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

function gettableAlert(v: AlertStatusView) {
  const a = v.alert;
  return {
    annotations: { ...a.annotations },
    endsAt: iso(a.endsAt),
    fingerprint: a.fingerprint,
    receivers: v.receivers.map((name) => ({ name })),
    startsAt: iso(a.startsAt),
    status: { inhibitedBy: v.inhibitedBy, silencedBy: v.silencedBy, state: v.state },
    updatedAt: iso(a.updatedAt),
    generatorURL: a.generatorURL,
    labels: { ...a.labels },
  };
}

function gettableSilence(s: Silence, now: number) {
  return {
    id: s.id,
    status: { state: silenceState(s, now) },
    updatedAt: iso(s.updatedAt),
    matchers: s.matchers.map((m) => ({ name: m.name, value: m.value, isRegex: m.isRegex, isEqual: m.isEqual })),
    startsAt: iso(s.startsAt),
    endsAt: iso(s.endsAt),
    createdBy: s.createdBy,
    comment: s.comment,
  };
}

class BadRequest extends Error {}

function list(q: unknown): string[] {
  if (q === undefined) return [];
  return Array.isArray(q) ? q.map(String) : [String(q)];
}

function filterMatchers(q: unknown): Matcher[] {
  const out: Matcher[] = [];
  for (const f of list(q)) {
    try {
      out.push(...parseMatchers(f));
    } catch (err) {
      throw new BadRequest(`bad matcher format: ${(err as Error).message}`);
    }
  }
  return out;
}

function boolParam(v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (v === 'true' || v === true) return true;
  if (v === 'false' || v === false) return false;
  throw new BadRequest(`invalid boolean ${JSON.stringify(v)}`);
}

function receiverRegex(v: unknown): Regex | undefined {
  if (v === undefined || v === '') return undefined;
  try {
    return compileRegex(String(v));
  } catch (err) {
    throw new BadRequest(`failed to parse receiver param: ${(err as Error).message}`);
  }
}

function alertFilter(q: Record<string, unknown>) {
  const ms = filterMatchers(q.filter);
  const active = boolParam(q.active, true);
  const silenced = boolParam(q.silenced, true);
  const inhibited = boolParam(q.inhibited, true);
  const re = receiverRegex(q.receiver);
  return (v: AlertStatusView) => {
    if (!matchesAll(ms, v.alert.labels)) return false;
    if (re && !v.receivers.some((r) => re.test(r))) return false;
    if (!active && v.state === 'active') return false;
    if (!silenced && v.silencedBy.length) return false;
    if (!inhibited && v.inhibitedBy.length) return false;
    return true;
  };
}

function time(v: unknown, field: string): Date | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new BadRequest(`${field}: must be a date-time string`);
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new BadRequest(`${field}: invalid date-time ${JSON.stringify(v.slice(0, 64))}`);
  return d;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function stringMap(v: unknown, field: string, requireNonEmpty: boolean): Record<string, string> {
  if (v === undefined && !requireNonEmpty) return {};
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new BadRequest(`${field}: must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') throw new BadRequest(`${field}.${k}: must be a string`);
    if (field.endsWith('labels') && !LABEL_NAME.test(k)) throw new BadRequest(`${field}: invalid label name "${k.slice(0, 64)}"`);
    out[k] = x;
  }
  if (requireNonEmpty && Object.keys(out).length === 0) throw new BadRequest(`${field}: at least one label pair required`);
  return out;
}

export function parsePostableAlerts(body: unknown, now = Date.now()): Alert[] {
  if (!Array.isArray(body)) throw new BadRequest('body must be a JSON array of alerts');
  if (body.length > 10_000) throw new BadRequest('too many alerts in one request (max 10000)');
  return body.map((raw, i) => {
    if (!raw || typeof raw !== 'object') throw new BadRequest(`[${i}]: must be an object`);
    const r = raw as Record<string, unknown>;
    const labels = stringMap(r.labels, `[${i}].labels`, true);
    const annotations = stringMap(r.annotations, `[${i}].annotations`, false);
    const startsAt = time(r.startsAt, `[${i}].startsAt`) ?? new Date(now);
    const endsAt = time(r.endsAt, `[${i}].endsAt`) ?? new Date(0);
    if (endsAt.getTime() > 0 && endsAt < startsAt) throw new BadRequest(`[${i}]: start time must be before end time`);
    const generatorURL = typeof r.generatorURL === 'string' ? r.generatorURL : undefined;
    return { labels, annotations, startsAt, endsAt, generatorURL };
  });
}

function parsePostableSilence(body: unknown): Partial<Silence> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('body must be a silence object');
  const b = body as Record<string, unknown>;
  if (!Array.isArray(b.matchers)) throw new BadRequest('matchers: required array');
  const startsAt = time(b.startsAt, 'startsAt');
  const endsAt = time(b.endsAt, 'endsAt');
  if (!startsAt || !endsAt) throw new BadRequest('startsAt and endsAt are required');
  return {
    id: typeof b.id === 'string' && b.id !== '' ? b.id : undefined,
    matchers: b.matchers.map((m, i) => {
      const x = (m ?? {}) as Record<string, unknown>;
      if (typeof x.name !== 'string' || typeof x.value !== 'string') throw new BadRequest(`matchers[${i}]: name and value must be strings`);
      return { name: x.name, value: x.value, isRegex: x.isRegex === true, isEqual: x.isEqual !== false };
    }),
    startsAt: startsAt.getTime(),
    endsAt: endsAt.getTime(),
    createdBy: typeof b.createdBy === 'string' ? b.createdBy : '',
    comment: typeof b.comment === 'string' ? b.comment : '',
  };
}

function silenceOrder(a: Silence, b: Silence, now: number): number {
  const rank = { active: 0, pending: 1, expired: 2 } as const;
  const sa = silenceState(a, now);
  const sb = silenceState(b, now);
  if (sa !== sb) return rank[sa] - rank[sb];
  if (sa === 'active') return a.endsAt - b.endsAt;
  if (sa === 'pending') return a.startsAt - b.startsAt;
  return b.endsAt - a.endsAt;
}

/** Fastify plugin with the v2 API; register with `app.register(alertmanagerApiRoutes({ notifier, token }))`. */
export function alertmanagerApiRoutes(o: AlertmanagerApiOptions) {
  const auth = requireToken(o.token);
  return async function plugin(app: FastifyInstance): Promise<void> {
    const fail = (reply: FastifyReply, err: unknown) => {
      if (err instanceof BadRequest) return reply.code(400).type('application/json').send(JSON.stringify(err.message));
      if (err instanceof SilenceError) return reply.code(err.status).type('application/json').send(JSON.stringify(err.message));
      throw err;
    };
    const q = (req: FastifyRequest) => req.query as Record<string, unknown>;

    app.get('/api/v2/alerts', async (req, reply) => {
      try {
        const keep = alertFilter(q(req));
        return (await o.notifier.listAlerts()).filter(keep).map(gettableAlert);
      } catch (err) {
        return fail(reply, err);
      }
    });
    app.post('/api/v2/alerts', { preHandler: auth }, async (req, reply) => {
      try {
        await o.notifier.send(parsePostableAlerts(req.body));
        return reply.code(200).send();
      } catch (err) {
        return fail(reply, err);
      }
    });
    app.get('/api/v2/alerts/groups', async (req, reply) => {
      try {
        const keep = alertFilter(q(req));
        return (await o.notifier.listGroups())
          .map((g) => ({ labels: g.labels, receiver: { name: g.receiver }, alerts: g.alerts.filter(keep).map(gettableAlert) }))
          .filter((g) => g.alerts.length > 0);
      } catch (err) {
        return fail(reply, err);
      }
    });
    app.get('/api/v2/silences', async (req, reply) => {
      try {
        const ms = filterMatchers(q(req).filter);
        const now = Date.now();
        const all = await o.notifier.listSilences();
        return all
          .filter((s) => {
            const labels: Record<string, string> = {};
            for (const m of s.matchers) if (!m.isRegex && m.isEqual) labels[m.name] = m.value;
            return matchesAll(ms, labels);
          })
          .sort((a, b) => silenceOrder(a, b, now))
          .map((s) => gettableSilence(s, now));
      } catch (err) {
        return fail(reply, err);
      }
    });
    app.post('/api/v2/silences', { preHandler: auth }, async (req, reply) => {
      try {
        const id = await o.notifier.putSilence(parsePostableSilence(req.body));
        return { silenceID: id };
      } catch (err) {
        return fail(reply, err);
      }
    });
    app.get('/api/v2/silence/:id', async (req, reply) => {
      const s = await o.notifier.getSilence((req.params as { id: string }).id);
      if (!s) return reply.code(404).send();
      return gettableSilence(s, Date.now());
    });
    app.delete('/api/v2/silence/:id', { preHandler: auth }, async (req, reply) => {
      try {
        await o.notifier.expireSilence((req.params as { id: string }).id);
        return reply.code(200).send();
      } catch (err) {
        return fail(reply, err);
      }
    });
    app.get('/api/v2/status', async () => ({
      cluster: { name: 'vigil', status: 'ready', peers: [] },
      config: { original: o.notifier.configYaml() },
      uptime: o.notifier.startedAt.toISOString(),
      versionInfo: { branch: 'main', buildDate: '', buildUser: 'vigil', goVersion: `node ${process.version}`, revision: '', version: o.version ?? '0.1.0' },
    }));
    app.get('/api/v2/receivers', async () => o.notifier.receivers().map((name) => ({ name })));
    app.get('/-/silence', async (req, reply) => reply.type('text/html; charset=utf-8').send(silencePage(String(q(req).filter ?? ''))));
  };
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');
}

/** The page a Slack/email silence link opens: matchers prefilled, one click (plus the token, if one is set) to create. */
function silencePage(filter: string): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>New silence - Vigil</title></head><body>
<h1>New silence</h1>
<form id="f"><p><label>Matchers <input name="matchers" size="80" value="${esc(filter.slice(0, 4000))}"></label></p>
<p><label>Duration (hours) <input name="hours" type="number" value="2" min="0.1" step="0.1"></label></p>
<p><label>Created by <input name="createdBy" value=""></label></p>
<p><label>Comment <input name="comment" size="60" value="silenced from notification"></label></p>
<p><label>API token <input name="token" type="password" autocomplete="off"></label></p>
<button type="submit">Create silence</button></form><pre id="out"></pre>
<script>
document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const body = f.get('matchers').replace(/^\\{|\\}$/g, '').split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/).filter(Boolean).map((m) => {
    const x = /^\\s*([a-zA-Z_][a-zA-Z0-9_]*)\\s*(=~|!=|!~|=)\\s*"?(.*?)"?\\s*$/.exec(m);
    return { name: x[1], value: x[3].replace(/\\\\"/g, '"'), isRegex: x[2].includes('~'), isEqual: !x[2].startsWith('!') };
  });
  const now = Date.now();
  const res = await fetch('../api/v2/silences', { method: 'POST', headers: Object.assign({ 'content-type': 'application/json' },
    f.get('token') ? { authorization: 'Bearer ' + f.get('token') } : {}),
    body: JSON.stringify({ matchers: body, startsAt: new Date(now).toISOString(), endsAt: new Date(now + f.get('hours') * 3600e3).toISOString(),
      createdBy: f.get('createdBy') || 'vigil-ui', comment: f.get('comment') }) });
  document.getElementById('out').textContent = res.status + ' ' + await res.text();
});
</script></body></html>`;
}
