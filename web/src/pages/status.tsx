import { getData } from '../api';
import { ErrorBox, useLoad } from '../components';

interface Tsdb {
  headStats: { numSeries: number; numLabelPairs: number; chunkCount: number; minTime: number; maxTime: number };
  seriesCountByMetricName: Array<{ name: string; value: number }>;
  labelValueCountByLabelName: Array<{ name: string; value: number }>;
  memoryInBytesByLabelName: Array<{ name: string; value: number }>;
  seriesCountByLabelValuePair: Array<{ name: string; value: number }>;
}

function KeyValues({ data }: { data: Record<string, unknown> }) {
  return (
    <table class="kv">
      <tbody>
        {Object.entries(data).map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{typeof v === 'object' ? JSON.stringify(v) : String(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Top({ title, rows }: { title: string; rows: Array<{ name: string; value: number }> }) {
  return (
    <div class="top">
      <h3>{title}</h3>
      <table class="kv">
        <tbody>
          {rows.map((r) => (
            <tr key={r.name}>
              <th>{r.name}</th>
              <td>{r.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

async function loadStatus(signal: AbortSignal) {
  const [build, runtime, flags, config, tsdb] = await Promise.all([
    getData<Record<string, unknown>>('/api/v1/status/buildinfo', signal),
    getData<Record<string, unknown>>('/api/v1/status/runtimeinfo', signal),
    getData<Record<string, string>>('/api/v1/status/flags', signal),
    getData<{ yaml: string }>('/api/v1/status/config', signal),
    getData<Tsdb>('/api/v1/status/tsdb', signal),
  ]);
  return { build, runtime, flags, config, tsdb };
}

export function StatusPage() {
  const { data, error } = useLoad(loadStatus, []);
  return (
    <section>
      <h1>Status</h1>
      <ErrorBox error={error} />
      {!data && !error && <p>Loading…</p>}
      {data && (
        <>
          <h2>Build</h2>
          <KeyValues data={data.build} />
          <h2>Runtime</h2>
          <KeyValues data={data.runtime} />
          <h2>Storage</h2>
          <KeyValues
            data={{
              series: data.tsdb.headStats.numSeries,
              'label pairs': data.tsdb.headStats.numLabelPairs,
              'oldest sample': data.tsdb.headStats.minTime > 0 ? new Date(data.tsdb.headStats.minTime).toISOString() : '',
              'newest sample': data.tsdb.headStats.maxTime > 0 ? new Date(data.tsdb.headStats.maxTime).toISOString() : '',
            }}
          />
          <div class="tops">
            <Top title="Series by metric" rows={data.tsdb.seriesCountByMetricName} />
            <Top title="Values by label" rows={data.tsdb.labelValueCountByLabelName} />
            <Top title="Series by label pair" rows={data.tsdb.seriesCountByLabelValuePair} />
          </div>
          <h2>Flags</h2>
          <KeyValues data={data.flags} />
          <h2>Configuration</h2>
          <pre class="config">{data.config.yaml}</pre>
        </>
      )}
    </section>
  );
}
