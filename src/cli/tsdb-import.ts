/**
 * `vigil tsdb import FILE [--data DIR] [--retention 15d]`: backfills OpenMetrics
 * text with timestamps (what `promtool tsdb create-blocks-from openmetrics`
 * accepts: timestamps in seconds, `# EOF` last) into the data directory.
 * Vigil must not be running on that directory (the store locks it).
 */
import { readFileSync } from 'node:fs';
import { ExpositionError, parseExposition, type ParsedSample } from '../collectors/exposition.js';
import { parseDuration } from '../model/duration.js';
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

/** Parses OpenMetrics backfill text and appends its samples; throws ExpositionError (original line numbers) for malformed input. */
export async function importOpenMetrics(db: Tsdb, text: string): Promise<ImportResult> {
  // A backfill file repeats each series once per timestamp; the parser accepts
  // that (and still rejects one series twice at one timestamp).
  const parsed = parseExposition(text, { openMetrics: true, allowRepeatedSeries: true, sampleLines: true });
  const lines = parsed.lines!;
  const samples: Array<{ s: ParsedSample; line: number }> = [];
  for (let k = 0; k < parsed.samples.length; k++) {
    const s = parsed.samples[k];
    if (s.timestampMs === undefined) throw new ExpositionError(lines[k], 'sample has no timestamp (backfilling needs one on every sample)');
    samples.push({ s, line: lines[k] });
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
