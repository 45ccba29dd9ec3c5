/**
 * `vigil tsdb dump DIR [--match SELECTOR] [--min-time T] [--max-time T]`:
 * prints the samples of a data directory (blocks and WAL), one per line as
 * `{labels} value timestamp_ms`, like `promtool tsdb dump`. Read-only.
 */
import { parseSeriesSelector } from '../api/prom-api/selector.js';
import { histogramString } from '../promql/histogram-stats.js';
import { withReadOnlyStore } from '../tsdb/readonly.js';
import { seriesKey, type MemSeries } from '../tsdb/series.js';
import type { Matcher } from '../tsdb/types.js';
import { flagString, parseArgs } from './args.js';
import { timeArg } from './query.js';

/** Series per select: bounds the memory of a dump of a large directory. */
const SERIES_PER_READ = 256;

function formatLabels(labels: Readonly<Record<string, string>>): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ')}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Writes to stdout; a closed pipe (`| head`) ends the dump quietly. */
function stdoutWriter(): { write: (s: string) => void; closed: () => boolean } {
  let closed = false;
  process.stdout.once('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    closed = true;
  });
  return { write: (s) => void (closed || process.stdout.write(s)), closed: () => closed };
}

export async function run(args: string[], out = stdoutWriter()): Promise<number> {
  const p = parseArgs(args);
  if (p.positional.length !== 1) {
    console.error('usage: vigil tsdb dump DIR [--match SELECTOR] [--min-time T] [--max-time T]');
    return 2;
  }
  let matchers: Matcher[] = [{ type: '=~', name: '__name__', value: '.+' }];
  let mint = -Number.MAX_SAFE_INTEGER;
  let maxt = Number.MAX_SAFE_INTEGER;
  try {
    const m = flagString(p, 'match');
    if (m !== undefined) matchers = parseSeriesSelector(m);
    const now = Date.now();
    const lo = flagString(p, 'min-time');
    const hi = flagString(p, 'max-time');
    if (lo !== undefined) mint = timeArg('--min-time', lo, now);
    if (hi !== undefined) maxt = timeArg('--max-time', hi, now);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  return withReadOnlyStore(p.positional[0], (store) => {
    const q = store.querier;
    const series = sortedByKey(store.index.select(matchers));
    for (let i = 0; i < series.length && !out.closed(); i += SERIES_PER_READ) {
      let text = '';
      for (const s of q.selectSeries(series.slice(i, i + SERIES_PER_READ), mint, maxt)) {
        const l = formatLabels(s.labels);
        for (let k = 0; k < s.t.length; k++) {
          // Native histograms print as promtool tsdb dump prints them.
          const h = s.h?.[k];
          text += `${l} ${s.stale?.[k] ? 'stale' : h !== undefined ? histogramString(h) : formatValue(s.v[k])} ${s.t[k]}\n`;
        }
      }
      out.write(text);
    }
    return 0;
  });
}

/** Series in the order of their labels keys, each key built once. */
function sortedByKey(series: MemSeries[]): MemSeries[] {
  const keyed = series.map((s) => ({ s, key: seriesKey(s.labels) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.s);
}
