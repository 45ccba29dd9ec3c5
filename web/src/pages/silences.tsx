import { useEffect, useMemo, useState } from 'preact/hooks';
import { getJson, query, send, sessionInfo } from '../api';
import { Badge, Capped, ErrorBox, Labels, useLoad } from '../components';
import { ago, duration, isoLocal } from '../format';
import { matcherText, matchersToText, parseMatchers, type SilenceMatcher } from '../matchers';
import { navigate } from '../router';
import { SignInForm } from './signin';

interface Silence {
  id: string;
  status: { state: 'active' | 'pending' | 'expired' };
  matchers: SilenceMatcher[];
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  createdBy: string;
  comment: string;
}

interface AmAlert {
  labels: Record<string, string>;
  fingerprint: string;
  status: { silencedBy: string[] };
}

function Matchers({ ms }: { ms: SilenceMatcher[] }) {
  return (
    <span class="labels">
      {ms.map((m, i) => (
        <span class="label" key={i}>
          {matcherText(m)}
        </span>
      ))}
    </span>
  );
}

export function SilencesPage() {
  const [state, setState] = useState<'active' | 'pending' | 'expired'>('active');
  const { data, error, reload } = useLoad((signal) => getJson<Silence[]>('/api/v2/silences', signal), [], 30_000);
  const [actionError, setActionError] = useState<unknown>();
  const list = (data ?? []).filter((s) => s.status.state === state);
  const expire = async (id: string) => {
    setActionError(undefined);
    try {
      await send('DELETE', `/api/v2/silence/${encodeURIComponent(id)}`);
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  const needSignIn = sessionInfo().authRequired && !sessionInfo().signedIn;
  return (
    <section>
      <h1>Silences</h1>
      <div class="toolbar">
        {(['active', 'pending', 'expired'] as const).map((s) => (
          <button key={s} class={s === state ? 'tab on' : 'tab'} onClick={() => setState(s)}>
            {s} ({(data ?? []).filter((x) => x.status.state === s).length})
          </button>
        ))}
        <a class="button primary" href="/silences/new" data-nav>
          New silence
        </a>
      </div>
      <ErrorBox error={error ?? actionError} />
      {needSignIn && <p class="note">Sign in to create, edit or expire silences.</p>}
      <table class="list">
        <thead>
          <tr>
            <th>matchers</th>
            <th>{state === 'pending' ? 'starts' : state === 'expired' ? 'ended' : 'ends'}</th>
            <th>created by</th>
            <th>comment</th>
            <th />
          </tr>
        </thead>
        <tbody>
          <Capped
            items={list}
            render={(s) => (
              <tr key={s.id} class="silence">
                <td>
                  <Matchers ms={s.matchers} />
                </td>
                <td title={s.endsAt}>{state === 'pending' ? `in ${duration(Date.parse(s.startsAt) - Date.now())}` : state === 'expired' ? ago(s.endsAt) : `in ${duration(Date.parse(s.endsAt) - Date.now())}`}</td>
                <td>{s.createdBy}</td>
                <td>{s.comment}</td>
                <td class="actions">
                  <a href={`/silences/${encodeURIComponent(s.id)}`} data-nav>
                    {state === 'expired' ? 'recreate' : 'edit'}
                  </a>
                  {state !== 'expired' && <button onClick={() => void expire(s.id)}>Expire</button>}
                </td>
              </tr>
            )}
          />
        </tbody>
      </table>
      {data && list.length === 0 && <p>No {state} silences.</p>}
    </section>
  );
}

const DURATIONS = ['1h', '2h', '4h', '8h', '1d', '3d', '7d'];

function parseDuration(s: string): number | undefined {
  const m = /^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?$/.exec(s.trim());
  if (!m || s.trim() === '') return undefined;
  return ((Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 60_000;
}

/**
 * New and edit form. `/silences/new?filter={...}` and `/-/silence?filter=...`
 * (the link in Slack and email notifications) open it pre-filled.
 */
export function SilenceForm({ id, filter }: { id?: string; filter?: string }) {
  const [matchers, setMatchers] = useState(filter ?? '');
  const [dur, setDur] = useState('2h');
  const [createdBy, setCreatedBy] = useState(() => localStorage.getItem('vigil.author') ?? '');
  const [comment, setComment] = useState(filter ? 'silenced from notification' : '');
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState<string>();
  const [signedIn, setSignedIn] = useState(!sessionInfo().authRequired || sessionInfo().signedIn);
  const [expired, setExpired] = useState(false);
  // A pending silence keeps its future start when edited.
  const [pendingStart, setPendingStart] = useState<number>();

  useEffect(() => {
    if (!id) return;
    getJson<Silence>(`/api/v2/silence/${encodeURIComponent(id)}`).then(
      (s) => {
        setMatchers(matchersToText(s.matchers));
        setCreatedBy(s.createdBy);
        setComment(s.comment);
        setExpired(s.status.state === 'expired');
        if (s.status.state === 'pending') setPendingStart(Date.parse(s.startsAt));
        const left = Date.parse(s.endsAt) - Math.max(Date.now(), Date.parse(s.startsAt));
        if (left > 0) setDur(`${Math.ceil(left / 60_000)}m`);
      },
      setError,
    );
  }, [id]);

  const parsed = useMemo(() => {
    try {
      const ms = parseMatchers(matchers);
      return ms.length ? { ms } : { err: 'at least one matcher is needed' };
    } catch (err) {
      return { err: (err as Error).message };
    }
  }, [matchers]);

  // Live preview: the alerts these matchers catch right now.
  const filters = parsed.ms?.map(matcherText) ?? [];
  const preview = useLoad(
    (signal) => (filters.length ? getJson<AmAlert[]>(`/api/v2/alerts${query({ filter: filters })}`, signal) : Promise.resolve([] as AmAlert[])),
    [filters.join('\n')],
  );

  const durMs = parseDuration(dur);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    if (!parsed.ms) return setError(new Error(parsed.err));
    if (!durMs) return setError(new Error(`invalid duration "${dur}": use e.g. 2h, 1d, 30m`));
    if (!createdBy.trim()) return setError(new Error('"created by" is required'));
    localStorage.setItem('vigil.author', createdBy.trim());
    const now = pendingStart && pendingStart > Date.now() ? pendingStart : Date.now();
    try {
      const r = await send<{ silenceID: string }>('POST', '/api/v2/silences', {
        ...(id && !expired ? { id } : {}),
        matchers: parsed.ms,
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + durMs).toISOString(),
        createdBy: createdBy.trim(),
        comment,
      });
      setSaved(r?.silenceID);
    } catch (err) {
      setError(err);
    }
  };

  if (saved) {
    return (
      <section>
        <h1>Silence saved</h1>
        <p class="ok" role="status">
          Silence <code>{saved}</code> is active until {isoLocal(Date.now() + (durMs ?? 0))}.
        </p>
        <p>
          <a href="/silences" data-nav>
            All silences
          </a>{' '}
          ·{' '}
          <a href="/alerts" data-nav>
            Alerts
          </a>
        </p>
      </section>
    );
  }
  return (
    <section>
      <h1>{id ? (expired ? 'Recreate silence' : 'Edit silence') : 'New silence'}</h1>
      {!signedIn && <SignInForm onDone={() => setSignedIn(true)} note="Sign in with Vigil's API token to save the silence." />}
      <form class="silence-form" onSubmit={(e) => void submit(e)}>
        <label>
          Matchers
          <input name="matchers" value={matchers} onInput={(e) => setMatchers(e.currentTarget.value)} placeholder='{alertname="HighErrorRate", service="api"}' spellcheck={false} />
        </label>
        {parsed.err && matchers && <div class="field-error">{parsed.err}</div>}
        <label>
          Duration
          <input name="duration" value={dur} onInput={(e) => setDur(e.currentTarget.value)} list="durations" />
          <datalist id="durations">
            {DURATIONS.map((d) => (
              <option key={d} value={d} />
            ))}
          </datalist>
          {durMs ? <span class="hint">until {isoLocal(Date.now() + durMs)}</span> : <span class="field-error">e.g. 2h, 1d, 30m</span>}
        </label>
        <label>
          Created by
          <input name="createdBy" value={createdBy} onInput={(e) => setCreatedBy(e.currentTarget.value)} autocomplete="username" />
        </label>
        <label>
          Comment
          <textarea name="comment" value={comment} onInput={(e) => setComment(e.currentTarget.value)} rows={2} />
        </label>
        <ErrorBox error={error} />
        <button type="submit" class="primary" disabled={!signedIn}>
          {id && !expired ? 'Update silence' : 'Create silence'}
        </button>{' '}
        <button type="button" onClick={() => navigate('/silences')}>
          Cancel
        </button>
      </form>
      <h2>
        Affected alerts <span class="count">{preview.data?.length ?? 0}</span>
      </h2>
      <ErrorBox error={preview.error} />
      <ul class="preview">
        <Capped
          items={preview.data ?? []}
          render={(a) => (
            <li key={a.fingerprint}>
              {a.status.silencedBy.length > 0 && <Badge kind="muted">already silenced</Badge>} <Labels labels={a.labels} />
            </li>
          )}
        />
      </ul>
    </section>
  );
}
