/**
 * Feeds the API's metadata and exemplar stores from parsed scrapes. Exemplars
 * are read here in a separate pass over OpenMetrics bodies that carry any
 * (` # {`), so the scrape parser's hot loop stays as it is.
 */
import type { CollectorsOptions } from '../collectors/index.js';
import type { Labels } from '../tsdb/types.js';
import type { ExemplarStore } from './exemplar-store.js';
import type { MetadataStore } from './metadata-store.js';

/** Reads `{a="b",c="d"}` starting at `i` (the brace); returns labels and the index after `}`, or undefined. */
function readLabels(s: string, i: number): { labels: Record<string, string>; end: number } | undefined {
  if (s[i] !== '{') return undefined;
  const labels: Record<string, string> = {};
  i++;
  for (;;) {
    while (s[i] === ' ' || s[i] === ',') i++;
    if (s[i] === '}') return { labels, end: i + 1 };
    const eq = s.indexOf('=', i);
    if (eq < 0) return undefined;
    const name = s.slice(i, eq).trim();
    if (s[eq + 1] !== '"') return undefined;
    let j = eq + 2;
    let value = '';
    while (j < s.length && s[j] !== '"') {
      if (s[j] === '\\' && j + 1 < s.length) {
        const c = s[j + 1];
        value += c === 'n' ? '\n' : c;
        j += 2;
      } else value += s[j++];
    }
    if (j >= s.length) return undefined;
    labels[name] = value;
    i = j + 1;
  }
}

/** One OpenMetrics sample line with an exemplar → series labels, exemplar labels, value and time (ms), or undefined. */
export function parseExemplarLine(line: string): { series: Record<string, string>; labels: Record<string, string>; value: number; t?: number } | undefined {
  const hash = line.indexOf(' # {');
  if (hash < 0 || line.startsWith('#')) return undefined;
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  let series: Record<string, string>;
  if (brace >= 0 && brace < space) {
    const r = readLabels(line, brace);
    if (!r) return undefined;
    series = { __name__: line.slice(0, brace), ...r.labels };
  } else series = { __name__: line.slice(0, space) };
  const ex = readLabels(line, hash + 3);
  if (!ex) return undefined;
  const [v, ts] = line.slice(ex.end).trim().split(/\s+/);
  const value = Number(v);
  if (v === undefined || Number.isNaN(value)) return undefined;
  const t = ts !== undefined ? Number(ts) * 1000 : undefined;
  return { series, labels: ex.labels, value, t: t !== undefined && Number.isFinite(t) ? t : undefined };
}

export function scrapeObserver(metadata: MetadataStore, exemplars: ExemplarStore, now: () => number = Date.now): NonNullable<CollectorsOptions['hooks']> {
  return {
    onParsed(target, result, body, openMetrics) {
      metadata.set(target.key, target.labels, result.metadata);
      if (!openMetrics || !body.includes(' # {')) return;
      const t0 = now();
      for (const line of body.split('\n')) {
        const e = parseExemplarLine(line);
        if (!e) continue;
        const series: Labels = Object.freeze({ ...e.series, ...target.labels });
        exemplars.add({ series, labels: e.labels, value: e.value, t: e.t ?? t0 });
      }
    },
  };
}
