import { getData } from '../api';
import { Badge, Capped, ErrorBox, Labels, useLoad } from '../components';
import { ago, seconds } from '../format';

interface Rule {
  name: string;
  query: string;
  type: 'alerting' | 'recording';
  state?: 'inactive' | 'pending' | 'firing';
  health: string;
  lastError?: string;
  lastEvaluation: string;
  evaluationTime: number;
  duration?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  alerts?: unknown[];
}
interface Group {
  name: string;
  file: string;
  interval: number;
  lastEvaluation: string;
  evaluationTime: number;
  rules: Rule[];
}

const STATE_KIND: Record<string, string> = { firing: 'bad', pending: 'warn', inactive: 'ok' };

export function RulesPage() {
  const { data, error } = useLoad((signal) => getData<{ groups: Group[] }>('/api/v1/rules', signal), [], 15_000);
  return (
    <section>
      <h1>Rules</h1>
      <ErrorBox error={error} />
      {!data && !error && <p>Loading…</p>}
      <Capped
        items={data?.groups ?? []}
        step={20}
        render={(g) => (
          <div class="group" key={g.file + g.name}>
            <h2>
              {g.name} <span class="file">{g.file}</span>
              <span class="count">
                every {g.interval}s · last {ago(g.lastEvaluation)} · took {seconds(g.evaluationTime)}
              </span>
            </h2>
            <table class="list">
              <thead>
                <tr>
                  <th>rule</th>
                  <th>state</th>
                  <th>health</th>
                  <th>last evaluation</th>
                  <th>duration</th>
                </tr>
              </thead>
              <tbody>
                <Capped
                  items={g.rules}
                  render={(r) => (
                    <tr key={r.name + r.query} class="rule">
                      <td>
                        <div>
                          <strong>{r.type === 'alerting' ? 'alert: ' : 'record: '}</strong>
                          {r.name}
                        </div>
                        <a class="expr" href={`/graph?g0.expr=${encodeURIComponent(r.query)}`} data-nav>
                          {r.query}
                        </a>
                        {r.duration ? <div class="hint">for {r.duration}s</div> : null}
                        {r.labels && Object.keys(r.labels).length > 0 && <Labels labels={r.labels} />}
                        {r.lastError && <div class="last-error">{r.lastError}</div>}
                      </td>
                      <td>{r.state && <Badge kind={STATE_KIND[r.state] ?? 'muted'}>{`${r.state}${r.alerts?.length ? ` (${r.alerts.length})` : ''}`}</Badge>}</td>
                      <td>
                        <Badge kind={r.health === 'ok' ? 'ok' : r.health === 'err' ? 'bad' : 'muted'}>{r.health}</Badge>
                      </td>
                      <td>{ago(r.lastEvaluation)}</td>
                      <td>{seconds(r.evaluationTime)}</td>
                    </tr>
                  )}
                />
              </tbody>
            </table>
          </div>
        )}
      />
    </section>
  );
}
