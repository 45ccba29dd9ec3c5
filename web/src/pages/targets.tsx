import { useMemo, useState } from 'preact/hooks';
import { getData } from '../api';
import { Badge, Capped, ErrorBox, Labels, useLoad } from '../components';
import { ago, seconds } from '../format';

interface Target {
  discoveredLabels: Record<string, string>;
  labels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  lastError: string;
  lastScrape: string;
  lastScrapeDuration?: number;
  health: 'up' | 'down' | 'unknown';
  scrapeInterval?: string;
}

function TargetRow({ t }: { t: Target }) {
  const [open, setOpen] = useState(false);
  return (
    <tr class={`target health-${t.health}`}>
      <td>
        <div class="url">{t.scrapeUrl}</div>
        {open && Object.keys(t.discoveredLabels).length > 0 && (
          <div class="discovered">
            discovered: <Labels labels={t.discoveredLabels} />
          </div>
        )}
      </td>
      <td>
        <Badge kind={t.health === 'up' ? 'ok' : t.health === 'down' ? 'bad' : 'muted'}>{t.health}</Badge>
      </td>
      <td>
        <Labels labels={t.labels} />{' '}
        {Object.keys(t.discoveredLabels).length > 0 && (
          <button class="link" onClick={() => setOpen(!open)}>
            {open ? 'hide' : 'discovered labels'}
          </button>
        )}
      </td>
      <td>{ago(t.lastScrape)}</td>
      <td>{seconds(t.lastScrapeDuration)}</td>
      <td class="last-error">{t.lastError}</td>
    </tr>
  );
}

export function TargetsPage() {
  const [onlyUnhealthy, setOnlyUnhealthy] = useState(false);
  const [filter, setFilter] = useState('');
  const { data, error } = useLoad((signal) => getData<{ activeTargets: Target[] }>('/api/v1/targets?state=active', signal), [], 15_000);
  const f = filter.toLowerCase();
  // Searchable text per target, built once per answer.
  const text = useMemo(() => new Map((data?.activeTargets ?? []).map((t) => [t, `${t.scrapeUrl}\n${Object.values(t.labels).join('\n')}`.toLowerCase()])), [data]);
  const pools = new Map<string, Target[]>();
  for (const t of data?.activeTargets ?? []) {
    if (onlyUnhealthy && t.health === 'up') continue;
    if (f && !text.get(t)?.includes(f)) continue;
    const list = pools.get(t.scrapePool) ?? [];
    list.push(t);
    pools.set(t.scrapePool, list);
  }
  return (
    <section>
      <h1>Targets</h1>
      <div class="toolbar">
        <input type="search" placeholder="filter by URL or label value" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
        <label>
          <input type="checkbox" checked={onlyUnhealthy} onChange={(e) => setOnlyUnhealthy(e.currentTarget.checked)} /> unhealthy only
        </label>
      </div>
      <ErrorBox error={error} />
      {!data && !error && <p>Loading…</p>}
      <Capped
        items={[...pools.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))}
        step={20}
        render={([pool, list]) => (
          <div class="group" key={pool}>
            <h2>
              {pool} <span class="count">{`${list.filter((t) => t.health === 'up').length}/${list.length} up`}</span>
            </h2>
            <table class="list">
              <thead>
                <tr>
                  <th>endpoint</th>
                  <th>state</th>
                  <th>labels</th>
                  <th>last scrape</th>
                  <th>duration</th>
                  <th>error</th>
                </tr>
              </thead>
              <tbody>
                <Capped items={list} render={(t) => <TargetRow key={t.scrapeUrl + JSON.stringify(t.labels)} t={t} />} />
              </tbody>
            </table>
          </div>
        )}
      />
    </section>
  );
}
