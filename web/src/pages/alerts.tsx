import { useMemo, useState } from 'preact/hooks';
import { ApiError, getData, getJson } from '../api';
import { Badge, Capped, ErrorBox, Labels, useLoad } from '../components';
import { ago, matchersText, safeHref } from '../format';

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  fingerprint: string;
  generatorURL?: string;
  receivers: Array<{ name: string }>;
  status: { state: string; silencedBy: string[]; inhibitedBy: string[] };
}
interface AmGroup {
  labels: Record<string, string>;
  receiver: { name: string };
  alerts: AmAlert[];
}
interface RuleAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

interface View {
  groups: AmGroup[];
  pending: RuleAlert[];
  /** False when no notification pipeline is configured: firing alerts come from the rules then. */
  notifications: boolean;
}

/** Alerts as notifications group them (Alertmanager v2 groups), plus the rules' pending alerts, which are not notified yet. */
async function loadAlerts(signal: AbortSignal): Promise<View> {
  const rules = await getData<{ alerts: RuleAlert[] }>('/api/v1/alerts', signal);
  const pending = rules.alerts.filter((a) => a.state === 'pending');
  try {
    const groups = await getJson<AmGroup[]>('/api/v2/alerts/groups', signal);
    return { groups, pending, notifications: true };
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    const byName = new Map<string, AmGroup>();
    for (const a of rules.alerts.filter((x) => x.state === 'firing')) {
      const name = a.labels.alertname ?? '';
      let g = byName.get(name);
      if (!g) byName.set(name, (g = { labels: { alertname: name }, receiver: { name: '' }, alerts: [] }));
      g.alerts.push({ labels: a.labels, annotations: a.annotations, startsAt: a.activeAt, fingerprint: '', receivers: [], status: { state: 'active', silencedBy: [], inhibitedBy: [] } });
    }
    return { groups: [...byName.values()], pending, notifications: false };
  }
}

const RUNBOOK_KEYS = ['runbook_url', 'runbook'];
const DASHBOARD_KEYS = ['dashboard_url', 'dashboard', 'grafana_url'];
const TEXT_KEYS = ['summary', 'description', 'message'];

function silenceLink(labels: Record<string, string>): string {
  return `/silences/new?filter=${encodeURIComponent(matchersText(labels))}`;
}

/** A Graph link from this Vigil gets a range reaching back before the alert started, so the chart shows the firing time. */
function sourceAround(url: string | undefined, since: string): string | undefined {
  const href = safeHref(url);
  if (!href) return undefined;
  const u = new URL(href);
  const started = Date.parse(since);
  if (u.origin !== location.origin || u.pathname !== '/graph' || u.searchParams.has('g0.range_input') || !Number.isFinite(started)) return href;
  const minutes = Math.max(60, Math.ceil((Date.now() - started) / 60_000) + 30);
  u.searchParams.set('g0.range_input', minutes % 60 === 0 ? `${minutes / 60}h` : `${minutes}m`);
  return u.href;
}

function Links({ annotations, generatorURL, since }: { annotations: Record<string, string>; generatorURL?: string; since: string }) {
  const runbook = safeHref(RUNBOOK_KEYS.map((k) => annotations[k]).find(Boolean));
  const dashboard = safeHref(DASHBOARD_KEYS.map((k) => annotations[k]).find(Boolean));
  const source = sourceAround(generatorURL, since);
  return (
    <span class="links">
      {runbook && <a href={runbook} rel="noreferrer noopener">runbook</a>}
      {dashboard && <a href={dashboard} rel="noreferrer noopener">dashboard</a>}
      {source && (
        <a href={source} data-nav={new URL(source).origin === location.origin ? '' : undefined}>
          source
        </a>
      )}
    </span>
  );
}

/** Fingerprint → labels of every alert shown, to name the alert that inhibits another. */
type Known = Map<string, Record<string, string>>;

function AlertRow({ a, state, since, known }: { a: Pick<AmAlert, 'labels' | 'annotations' | 'generatorURL'>; state: AmAlert['status'] | { state: 'pending'; silencedBy: []; inhibitedBy: [] }; since: string; known?: Known }) {
  const other = Object.entries(a.annotations).filter(([k]) => !TEXT_KEYS.includes(k) && !RUNBOOK_KEYS.includes(k) && !DASHBOARD_KEYS.includes(k));
  return (
    <li class="alert">
      <div class="alert-head">
        {state.state === 'pending' ? <Badge kind="warn">pending</Badge> : state.silencedBy.length ? <Badge kind="muted">silenced</Badge> : state.inhibitedBy.length ? <Badge kind="muted">inhibited</Badge> : <Badge kind="bad">firing</Badge>}
        <Labels labels={a.labels} />
        <span class="since">since {ago(since)}</span>
      </div>
      {TEXT_KEYS.filter((k) => a.annotations[k]).map((k) => (
        <div class={`annotation annotation-${k}`} key={k}>
          {a.annotations[k]}
        </div>
      ))}
      {other.length > 0 && (
        <dl class="annotations">
          {other.map(([k, v]) => [<dt key={`t${k}`}>{k}</dt>, <dd key={`d${k}`}>{v}</dd>])}
        </dl>
      )}
      {state.silencedBy.length > 0 && (
        <div class="muted-by">
          silenced by{' '}
          {state.silencedBy.map((id) => (
            <a key={id} href={`/silences/${encodeURIComponent(id)}`} data-nav>
              {id.slice(0, 8)}
            </a>
          ))}
        </div>
      )}
      {state.inhibitedBy.length > 0 && (
        <div class="muted-by">
          inhibited by{' '}
          {state.inhibitedBy.map((f) => {
            const by = known?.get(f);
            return by ? <Labels key={f} labels={by} /> : <code key={f}>{f.slice(0, 16)}</code>;
          })}
        </div>
      )}
      <div class="alert-actions">
        <Links annotations={a.annotations} generatorURL={a.generatorURL} since={since} />
        <a class="button" href={silenceLink(a.labels)} data-nav>
          Silence
        </a>
      </div>
    </li>
  );
}

export function AlertsPage() {
  const [filter, setFilter] = useState('');
  const [showMuted, setShowMuted] = useState(true);
  const { data, error } = useLoad(loadAlerts, [], 15_000);
  const f = filter.trim().toLowerCase();
  // Each alert's searchable text is built once per answer, not on every keystroke.
  const text = useMemo(() => new WeakMap<Record<string, string>, string>(), [data]);
  const searchText = (labels: Record<string, string>) => {
    let t = text.get(labels);
    if (t === undefined) text.set(labels, (t = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join('\n').toLowerCase()));
    return t;
  };
  const keep = (labels: Record<string, string>) => !f || searchText(labels).includes(f);
  const groups = (data?.groups ?? [])
    .map((g) => ({ ...g, alerts: g.alerts.filter((a) => keep(a.labels) && (showMuted || (!a.status.silencedBy.length && !a.status.inhibitedBy.length))) }))
    .filter((g) => g.alerts.length);
  const pending = (data?.pending ?? []).filter((a) => keep(a.labels));
  const total = groups.reduce((n, g) => n + g.alerts.length, 0);
  const known = useMemo(() => {
    const m: Known = new Map();
    for (const g of data?.groups ?? []) for (const a of g.alerts) if (a.fingerprint) m.set(a.fingerprint, a.labels);
    return m;
  }, [data]);
  return (
    <section>
      <h1>Alerts</h1>
      <div class="toolbar">
        <input type="search" placeholder='filter labels, e.g. severity="critical"' value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
        <label>
          <input type="checkbox" checked={showMuted} onChange={(e) => setShowMuted(e.currentTarget.checked)} /> show silenced and inhibited
        </label>
        <span class="count">
          {total} firing in {groups.length} groups, {pending.length} pending
        </span>
      </div>
      <ErrorBox error={error} />
      {!data && !error && <p>Loading…</p>}
      {data && !data.notifications && <p class="note">No notification receivers are configured: firing alerts are grouped by alert name.</p>}
      <Capped
        items={groups}
        step={30}
        render={(g) => (
          <div class="group" key={JSON.stringify(g.labels) + g.receiver.name}>
            <h2>
              <Labels labels={g.labels} />
              {g.receiver.name && <span class="receiver">→ {g.receiver.name}</span>}
              <span class="count">{g.alerts.length}</span>
            </h2>
            <ul class="alert-list">
              <Capped items={g.alerts} step={20} render={(a) => <AlertRow key={a.fingerprint || JSON.stringify(a.labels)} a={a} state={a.status} since={a.startsAt} known={known} />} />
            </ul>
          </div>
        )}
      />
      {pending.length > 0 && (
        <div class="group">
          <h2>
            Pending <span class="count">{pending.length}</span>
          </h2>
          <ul class="alert-list">
            <Capped items={pending} step={20} render={(a) => <AlertRow key={JSON.stringify(a.labels)} a={a} state={{ state: 'pending', silencedBy: [], inhibitedBy: [] }} since={a.activeAt} />} />
          </ul>
        </div>
      )}
      {data && total === 0 && pending.length === 0 && <p>No alerts{f ? ' match the filter' : ''}.</p>}
    </section>
  );
}
