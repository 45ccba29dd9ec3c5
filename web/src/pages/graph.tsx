import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { getData, query } from '../api';
import { ErrorBox, Labels } from '../components';
import { duration } from '../format';
import { navigate } from '../router';
import { createEditor, type EditorHandle } from './editor';

interface Sample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: Array<[number, string]>;
}
interface QueryData {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  result: Sample[] | [number, string];
}
interface Answer {
  data: QueryData;
  warnings?: string[];
  infos?: string[];
}

const RANGES = ['5m', '15m', '30m', '1h', '3h', '6h', '12h', '1d', '2d', '7d'];

/** Prometheus's duration text (1h30m, 5m, 10s) in ms; undefined when unparsable. */
export function parsePromDuration(s: string): number | undefined {
  const m = /^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(s.trim());
  if (!m || s.trim() === '') return undefined;
  const [w, d, h, mi, sec, ms] = m.slice(1).map((x) => Number(x ?? 0));
  return ((((w * 7 + d) * 24 + h) * 60 + mi) * 60 + sec) * 1000 + ms;
}

/** `2024-01-02 03:04:05` (UTC, Prometheus's end_input), RFC 3339 or unix seconds. */
function parseTime(s: string): number | undefined {
  if (!s) return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(/Z|[+-]\d\d:?\d\d$/.test(s) ? s.replace(' ', 'T') : `${s.replace(' ', 'T')}Z`);
  return Number.isNaN(t) ? undefined : t;
}

function formatEnd(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}

interface GraphState {
  expr: string;
  range: string;
  /** empty: now */
  end: string;
  /** empty: automatic (range / 250, at least 1s) */
  step: string;
}

function stateFromUrl(params: URLSearchParams): GraphState {
  return {
    expr: params.get('g0.expr') ?? '',
    range: params.get('g0.range_input') ?? '1h',
    end: params.get('g0.end_input') ?? params.get('g0.moment_input') ?? '',
    step: params.get('g0.step_input') ?? '',
  };
}

function urlFromState(s: GraphState): string {
  return `/graph${query({ 'g0.expr': s.expr, 'g0.range_input': s.range, 'g0.end_input': s.end || undefined, 'g0.step_input': s.step || undefined, 'g0.tab': '0' })}`;
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function seriesName(m: Record<string, string>): string {
  const { __name__: name, ...rest } = m;
  return `${name ?? ''}{${Object.entries(rest).map(([k, v]) => `${k}="${v}"`).join(', ')}}`;
}

function Chart({ series, start, end, step }: { series: Sample[]; start: number; end: number; step: number }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const n = Math.floor((end - start) / step) + 1;
    const xs = Array.from({ length: n }, (_, i) => (start + i * step) / 1000);
    const shown = series.slice(0, 200);
    const ys = shown.map((s) => {
      const col = new Array<number | null>(n).fill(null);
      for (const [t, v] of s.values ?? []) {
        const i = Math.round((t * 1000 - start) / step);
        if (i >= 0 && i < n) col[i] = Number(v);
      }
      return col;
    });
    const plot = new uPlot(
      {
        width: el.current.clientWidth || 900,
        height: 320,
        series: [{}, ...shown.map((s, i) => ({ label: seriesName(s.metric), stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false }))],
        axes: [{}, { size: 70 }],
        legend: { show: shown.length <= 20 },
        scales: { x: { time: true } },
      },
      [xs, ...ys] as uPlot.AlignedData,
      el.current,
    );
    return () => plot.destroy();
  }, [series, start, end, step]);
  return <div class="chart" ref={el} data-testid="chart" />;
}

export function GraphPage({ params }: { params: URLSearchParams }) {
  const [state, setState] = useState<GraphState>(() => stateFromUrl(params));
  const [ran, setRan] = useState<{ state: GraphState; range?: Answer; instant?: Answer; start: number; end: number; step: number; error?: unknown; loading: boolean }>();
  const editorEl = useRef<HTMLDivElement>(null);
  const editor = useRef<EditorHandle | undefined>(undefined);
  const stateRef = useRef(state);
  stateRef.current = state;

  const run = async (s: GraphState) => {
    navigate(urlFromState(s), true);
    if (!s.expr.trim()) return;
    const rangeMs = parsePromDuration(s.range) ?? 3600_000;
    // An end still ahead (a Source link opened soon after the alert fired) charts up to now.
    const end = Math.min(parseTime(s.end) ?? Date.now(), Date.now());
    const start = end - rangeMs;
    const step = parsePromDuration(s.step) ?? Math.max(1000, Math.ceil(rangeMs / 250 / 1000) * 1000);
    setRan({ state: s, start, end, step, loading: true });
    try {
      const [range, instant] = await Promise.all([
        getData<QueryData>(`/api/v1/query_range${query({ query: s.expr, start: String(start / 1000), end: String(end / 1000), step: String(step / 1000) })}`).then((data) => ({ data })),
        getData<QueryData>(`/api/v1/query${query({ query: s.expr, time: String(end / 1000) })}`).then((data) => ({ data })),
      ]);
      setRan({ state: s, range, instant, start, end, step, loading: false });
    } catch (error) {
      setRan({ state: s, start, end, step, error, loading: false });
    }
  };

  useEffect(() => {
    if (!editorEl.current) return;
    editor.current = createEditor(editorEl.current, state.expr, {
      onChange: (expr) => setState((s) => ({ ...s, expr })),
      onRun: () => void run(stateRef.current),
    });
    if (state.expr) void run(state);
    return () => editor.current?.destroy();
  }, []);

  const set = (patch: Partial<GraphState>) => {
    const next = { ...state, ...patch };
    setState(next);
    if (ran) void run(next);
  };
  const shiftEnd = (dir: 1 | -1) => {
    const rangeMs = parsePromDuration(state.range) ?? 3600_000;
    const end = (parseTime(state.end) ?? Date.now()) + (dir * rangeMs) / 2;
    set({ end: end >= Date.now() ? '' : formatEnd(end) });
  };

  const instant = ran?.instant?.data;
  const rows: Sample[] = instant && Array.isArray(instant.result) && instant.resultType === 'vector' ? (instant.result as Sample[]) : [];
  return (
    <section class="graph">
      <h1>Graph</h1>
      <div class="editor-row">
        <div class="editor" ref={editorEl} data-testid="editor" />
        <button class="primary" onClick={() => void run(state)}>
          Execute
        </button>
      </div>
      <div class="toolbar">
        <label>
          range
          <input class="short" list="ranges" value={state.range} onChange={(e) => set({ range: e.currentTarget.value })} />
          <datalist id="ranges">
            {RANGES.map((r) => (
              <option key={r} value={r} />
            ))}
          </datalist>
        </label>
        <button onClick={() => shiftEnd(-1)} title="earlier">
          ◀
        </button>
        <label>
          end (UTC)
          <input value={state.end} placeholder="now" onChange={(e) => set({ end: e.currentTarget.value })} />
        </label>
        <button onClick={() => shiftEnd(1)} title="later">
          ▶
        </button>
        <label>
          resolution
          <input class="short" value={state.step} placeholder={ran ? duration(ran.step) : 'auto'} onChange={(e) => set({ step: e.currentTarget.value })} />
        </label>
        <a href={urlFromState(state)} class="share" data-nav>
          link to this view
        </a>
      </div>
      {ran && <ErrorBox error={ran.error} />}
      {[...(ran?.range?.warnings ?? []), ...(ran?.range?.infos ?? [])].map((w) => (
        <div class="warning" key={w}>
          {w}
        </div>
      ))}
      {ran?.loading && <p>Loading…</p>}
      {ran?.range && ran.range.data.resultType === 'matrix' && (
        <>
          <p class="hint">
            {(ran.range.data.result as Sample[]).length} series, {new Date(ran.start).toISOString()} to {new Date(ran.end).toISOString()}, step {duration(ran.step)}
          </p>
          <Chart series={ran.range.data.result as Sample[]} start={ran.start} end={ran.end} step={ran.step} />
        </>
      )}
      {instant && (
        <table class="list result" data-testid="table">
          <thead>
            <tr>
              <th>series</th>
              <th>value at {new Date(ran!.end).toISOString()}</th>
            </tr>
          </thead>
          <tbody>
            {instant.resultType === 'scalar' || instant.resultType === 'string' ? (
              <tr>
                <td>{instant.resultType}</td>
                <td>{String((instant.result as [number, string])[1])}</td>
              </tr>
            ) : (
              rows.slice(0, 1000).map((r) => (
                <tr key={JSON.stringify(r.metric)}>
                  <td>
                    {r.metric.__name__ ?? ''} <Labels labels={r.metric} skip={['__name__']} />
                  </td>
                  <td>{r.value?.[1]}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      )}
      {instant && rows.length > 1000 && <p class="hint">showing 1000 of {rows.length} series</p>}
    </section>
  );
}
