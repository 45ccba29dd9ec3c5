/**
 * Exemplars of an OpenMetrics body, read in a pass of their own over lines
 * that carry one (` # {`), so the exposition parser's hot loop stays as it is.
 * Kept for the API (/api/v1/query_exemplars), bounded per scrape.
 */
export interface RawExemplar {
  /** The sample's own labels with `__name__` (target labels not yet added). */
  series: Record<string, string>;
  labels: Record<string, string>;
  value: number;
  /** ms, when the exemplar has a timestamp. */
  t?: number;
}

export const MAX_EXEMPLARS_PER_SCRAPE = 1000;

/** Reads `{a="b",c="d"}` starting at `i` (the brace); returns labels and the index after `}`, or undefined. */
function readLabels(s: string, i: number): { labels: Record<string, string>; end: number } | undefined {
  if (s[i] !== '{') return undefined;
  const labels: Record<string, string> = {};
  i++;
  for (;;) {
    while (s[i] === ' ' || s[i] === ',') i++;
    if (s[i] === '}') return { labels, end: i + 1 };
    const eq = s.indexOf('=', i);
    if (eq < 0 || s[eq + 1] !== '"') return undefined;
    const name = s.slice(i, eq).trim();
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

/** One OpenMetrics sample line with an exemplar, or undefined. */
export function parseExemplarLine(line: string): RawExemplar | undefined {
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
  if (v === undefined || v === '' || Number.isNaN(value)) return undefined;
  const t = ts !== undefined ? Number(ts) * 1000 : undefined;
  return { series, labels: ex.labels, value, t: t !== undefined && Number.isFinite(t) ? t : undefined };
}

/** Exemplars in a chunk of lines, appended to `out` up to the per-scrape bound. */
export function scanExemplars(text: string, out: RawExemplar[]): void {
  if (!text.includes(' # {')) return;
  for (const line of text.split('\n')) {
    if (out.length >= MAX_EXEMPLARS_PER_SCRAPE) return;
    const e = parseExemplarLine(line);
    if (e) out.push(e);
  }
}
