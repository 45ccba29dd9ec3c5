/**
 * `vigil tsdb import FILE [--data DIR] [--retention 15d]`: backfills OpenMetrics
 * text with timestamps (what `promtool tsdb create-blocks-from openmetrics`
 * accepts: timestamps in seconds, `# EOF` last) into the data directory.
 * Vigil must not be running on that directory (the store locks it).
 */
import { readFileSync } from 'node:fs';
import { ExpositionError, parseExposition, type ParsedSample } from '../collectors/exposition.js';
import { parseDuration } from '../config/duration.js';
import { createLogger } from '../logger.js';
import { openTsdb, SampleError, type Tsdb } from '../tsdb/index.js';
import { flagString, parseArgs } from './args.js';

const BATCH = 50_000;
const MAX_REPORTED = 10;

export interface ImportResult {
  samples: number;
  series: number;
  rejected: number;
  /** The first few rejections, with the input line. */
  problems: string[];
  minT: number;
  maxT: number;
}

/** 1-based line of the `index`-th sample: every sample is one line that is neither blank nor a comment. */
function lineOfSample(text: string, index: number): number {
  let line = 0;
  let seen = -1;
  let pos = 0;
  while (pos <= text.length) {
    line++;
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    if (end > pos && text.charCodeAt(pos) !== 35 && text.slice(pos, end).trim() !== '' && ++seen === index) return line;
    pos = end + 1;
  }
  return line;
}

/** The series part of a sample line (name and label set), honouring quotes in label values. */
function seriesText(line: string): string {
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  if (brace < 0 || (space >= 0 && space < brace)) return space < 0 ? line : line.slice(0, space);
  let inQuote = false;
  for (let i = brace + 1; i < line.length; i++) {
    const c = line[i];
    if (inQuote) {
      if (c === '\\') i++;
      else if (c === '"') inQuote = false;
    } else if (c === '"') inQuote = true;
    else if (c === '}') return line.slice(0, i + 1);
  }
  return line;
}

interface Batch {
  text: string;
  /** Original 1-based line number of each line of `text`. */
  lines: number[];
}

/**
 * A backfill file repeats each series once per timestamp, which one exposition
 * (a scrape) must not. Splits the file into documents without repeats, each
 * starting with the metadata lines of the family it continues and ending in
 * "# EOF", so the scrape parser validates every line and errors keep their
 * original line numbers.
 */
function splitBackfill(text: string): Batch[] {
  const src = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  const batches: Batch[] = [];
  let cur: { out: string[]; lines: number[]; seen: Set<string> } = { out: [], lines: [], seen: new Set() };
  let family = '';
  let familyMeta: Array<[string, number]> = [];
  let afterEof = false;
  const close = () => {
    cur.out.push('# EOF');
    cur.lines.push(cur.lines[cur.lines.length - 1] ?? 1);
    batches.push({ text: cur.out.join('\n') + '\n', lines: cur.lines });
  };
  for (let i = 0; i < src.length; i++) {
    const line = src[i].endsWith('\r') ? src[i].slice(0, -1) : src[i];
    if (!afterEof && line.startsWith('#')) {
      if (line === '# EOF') afterEof = true;
      else {
        const name = line.split(' ')[2] ?? '';
        if (name !== family) {
          family = name;
          familyMeta = [];
        }
        familyMeta.push([line, i + 1]);
      }
    } else if (!afterEof && line !== '') {
      const key = seriesText(line);
      if (cur.seen.has(key)) {
        close();
        cur = { out: familyMeta.map(([l]) => l), lines: familyMeta.map(([, n]) => n), seen: new Set() };
      }
      cur.seen.add(key);
    }
    cur.out.push(line);
    cur.lines.push(i + 1);
  }
  batches.push({ text: cur.out.join('\n') + (text.endsWith('\n') ? '\n' : ''), lines: cur.lines });
  return batches;
}

/** Parses OpenMetrics backfill text and appends its samples; throws ExpositionError (original line numbers) for malformed input. */
export async function importOpenMetrics(db: Tsdb, text: string): Promise<ImportResult> {
  const samples: Array<{ s: ParsedSample; line: number }> = [];
  for (const b of splitBackfill(text)) {
    let parsed: ParsedSample[];
    try {
      parsed = parseExposition(b.text, { openMetrics: true }).samples;
    } catch (err) {
      if (!(err instanceof ExpositionError)) throw err;
      const line = b.lines[err.line - 1] ?? (b.lines[b.lines.length - 1] ?? 0) + 1;
      throw new ExpositionError(line, err.reason);
    }
    for (const [k, s] of parsed.entries()) {
      const line = b.lines[lineOfSample(b.text, k) - 1];
      if (s.timestampMs === undefined) throw new ExpositionError(line, 'sample has no timestamp (backfilling needs one on every sample)');
      samples.push({ s, line });
    }
  }
  // Time order across the file, file order within a timestamp: series may be listed one after another.
  const order = samples.map((_, i) => i).sort((a, b) => samples[a].s.timestampMs! - samples[b].s.timestampMs! || a - b);
  const result: ImportResult = { samples: 0, series: 0, rejected: 0, problems: [], minT: Infinity, maxT: -Infinity };
  const seriesBefore = db.stats().series;
  for (let start = 0; start < order.length; start += BATCH) {
    const app = db.appender();
    for (const i of order.slice(start, start + BATCH)) {
      const { s, line } = samples[i];
      const t = s.timestampMs!;
      try {
        app.append(s.labels, t, s.value);
        result.samples++;
        if (t < result.minT) result.minT = t;
        if (t > result.maxT) result.maxT = t;
      } catch (err) {
        if (!(err instanceof SampleError)) throw err;
        result.rejected++;
        if (result.problems.length < MAX_REPORTED) result.problems.push(`line ${line}: ${err.message}`);
      }
    }
    await app.commit();
  }
  result.series = db.stats().series - seriesBefore;
  return result;
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  const [file] = parsed.positional;
  if (!file || parsed.positional.length > 1) {
    console.error('usage: vigil tsdb import FILE [--data DIR] [--retention 15d]');
    return 2;
  }
  const dir = flagString(parsed, 'data', 'data')!;
  let retentionMs: number;
  try {
    retentionMs = parseDuration(flagString(parsed, 'retention', '15d')!);
  } catch (err) {
    console.error(`--retention: ${(err as Error).message}`);
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    console.error(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    return 1;
  }
  const db = await openTsdb({ dir, retentionMs, logger: createLogger({ level: 'warn' }), checkpointIntervalMs: 0 });
  try {
    const r = await importOpenMetrics(db, text);
    for (const p of r.problems) console.error(`${file}: ${p}`);
    if (r.rejected > r.problems.length) console.error(`${file}: ... ${r.rejected - r.problems.length} more rejected samples`);
    const range = r.samples ? ` from ${new Date(r.minT).toISOString()} to ${new Date(r.maxT).toISOString()}` : '';
    console.log(`imported ${r.samples} samples of ${r.series} new series into ${dir}${range}${r.rejected ? `; rejected ${r.rejected}` : ''}`);
    return r.rejected ? 1 : 0;
  } catch (err) {
    if (err instanceof ExpositionError) {
      console.error(`${file}:${err.line}: ${err.reason}`);
      return 1;
    }
    throw err;
  } finally {
    await db.close();
  }
}
