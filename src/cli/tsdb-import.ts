/**
 * `vigil tsdb import FILE [--data DIR] [--retention 15d]`: backfills OpenMetrics
 * text with timestamps (what `promtool tsdb create-blocks-from openmetrics`
 * accepts: timestamps in seconds, `# EOF` last) into the data directory.
 * Vigil must not be running on that directory (the store locks it).
 *
 * The input is streamed, never held whole: a first pass checks it and counts
 * samples per hour; then each pass collects one time window of at most
 * WINDOW_SAMPLES samples, sorts it (time order, file order within a
 * timestamp, as a whole-file sort would) and appends it. Memory is bounded by
 * the window, whatever the file size.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { ExpositionError, parseExposition, type ParsedSample } from '../collectors/exposition.js';
import { parseDuration } from '../config/duration.js';
import { createLogger } from '../logger.js';
import { labelsKey } from '../tsdb/matchers.js';
import { openTsdb, SampleError, type Labels, type Tsdb } from '../tsdb/index.js';
import { flagString, parseArgs } from './args.js';

const BATCH = 50_000;
const MAX_REPORTED = 10;
const WINDOW_SAMPLES = 3_000_000;
const READ_BYTES = 8 << 20;
const MAX_LINE = 1024 * 1024;
const HOUR = 3600_000;

export interface ImportResult {
  samples: number;
  series: number;
  rejected: number;
  /** The first few rejections, with the input line. */
  problems: string[];
  minT: number;
  maxT: number;
}

/** A piece of the input: whole lines, the first numbered `firstLine`; the last piece holds the end of the input. */
interface Piece {
  text: string;
  firstLine: number;
  last: boolean;
  /** Input bytes read so far (for progress). */
  bytesRead: number;
}

/** Re-readable input, read in pieces of whole lines. */
export interface ImportSource {
  pieces(): Iterable<Piece>;
  size: number;
}

export function textSource(text: string, pieceChars = READ_BYTES): ImportSource {
  return {
    size: text.length,
    *pieces() {
      yield* splitPieces(
        (function* () {
          for (let i = 0; i < text.length; i += pieceChars) yield text.slice(i, i + pieceChars);
        })(),
        () => 0,
      );
    },
  };
}

export function fileSource(path: string, size: number): ImportSource {
  return {
    size,
    *pieces() {
      const fd = openSync(path, 'r');
      let read = 0;
      try {
        const buf = Buffer.allocUnsafe(READ_BYTES);
        const decoder = new TextDecoder('utf-8');
        yield* splitPieces(
          (function* () {
            for (;;) {
              const n = readSync(fd, buf, 0, buf.length, null);
              read += n;
              if (n === 0) {
                yield decoder.decode();
                return;
              }
              yield decoder.decode(buf.subarray(0, n), { stream: true });
            }
          })(),
          () => read,
        );
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** Cuts decoded text into pieces of whole lines, holding one piece back so the last one is known. */
function* splitPieces(chunks: Iterable<string>, bytesRead: () => number): Generator<Piece> {
  let carry = '';
  let held: Piece | undefined;
  let line = 1;
  for (const c of chunks) {
    carry += c;
    const cut = carry.lastIndexOf('\n');
    if (cut < 0) {
      if (carry.length > MAX_LINE + 2) throw new ExpositionError(line, `line too long (over ${MAX_LINE} characters)`);
      continue;
    }
    const text = carry.slice(0, cut + 1);
    carry = carry.slice(cut + 1);
    if (carry.length > MAX_LINE + 2) throw new ExpositionError(line + countLines(text), `line too long (over ${MAX_LINE} characters)`);
    if (held) yield held;
    held = { text, firstLine: line, last: false, bytesRead: bytesRead() };
    line += countLines(text);
  }
  if (held) {
    held.text += carry;
    held.last = true;
    held.bytesRead = bytesRead();
    yield held;
  } else yield { text: carry, firstLine: line, last: true, bytesRead: bytesRead() };
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** Parses one piece; line numbers in errors and results are the input's. */
function parsePiece(p: Piece): { samples: ParsedSample[]; lines: number[] } {
  // Pieces before the last get the end marker the format requires; the real one must end the last piece.
  const text = p.last ? p.text : `${p.text}# EOF\n`;
  try {
    const parsed = parseExposition(text, { openMetrics: true, allowRepeatedSeries: true, sampleLines: true });
    const lines = parsed.lines!;
    for (let k = 0; k < lines.length; k++) lines[k] += p.firstLine - 1;
    return { samples: parsed.samples, lines };
  } catch (err) {
    if (err instanceof ExpositionError) throw new ExpositionError(err.line + p.firstLine - 1, err.reason);
    throw err;
  }
}

export interface ImportProgress {
  (pass: number, passes: number, fraction: number): void;
}

/**
 * Streams OpenMetrics backfill from `source` into the store; throws
 * ExpositionError (input line numbers) for malformed input before anything
 * is appended.
 */
export async function importSource(db: Tsdb, source: ImportSource, progress?: ImportProgress, windowSamples = WINDOW_SAMPLES): Promise<ImportResult> {
  // Pass 1: check everything, count samples per hour.
  const perHour = new Map<number, number>();
  for (const p of source.pieces()) {
    const { samples, lines } = parsePiece(p);
    for (let k = 0; k < samples.length; k++) {
      const t = samples[k].timestampMs;
      if (t === undefined) throw new ExpositionError(lines[k], 'sample has no timestamp (backfilling needs one on every sample)');
      const h = Math.floor(t / HOUR);
      perHour.set(h, (perHour.get(h) ?? 0) + 1);
    }
    progress?.(1, 1, source.size ? p.bytesRead / source.size : 1);
  }
  // Windows of whole hours holding at most WINDOW_SAMPLES samples (an hour with more is a window alone).
  const hours = [...perHour.keys()].sort((a, b) => a - b);
  const windows: Array<{ from: number; to: number; count: number }> = [];
  for (const h of hours) {
    const c = perHour.get(h)!;
    const w = windows[windows.length - 1];
    if (w && w.count + c <= windowSamples) {
      w.to = h + 1;
      w.count += c;
    } else windows.push({ from: h, to: h + 1, count: c });
  }
  const result: ImportResult = { samples: 0, series: 0, rejected: 0, problems: [], minT: Infinity, maxT: -Infinity };
  const seriesBefore = db.stats().series;
  const keys = new Map<string, number>();
  const labelsById: Labels[] = [];
  for (let wi = 0; wi < windows.length; wi++) {
    const win = windows[wi];
    const lo = win.from * HOUR;
    const hi = win.to * HOUR;
    const sid = new Int32Array(win.count);
    const ts = new Float64Array(win.count);
    const vs = new Float64Array(win.count);
    const ln = new Float64Array(win.count);
    let n = 0;
    for (const p of source.pieces()) {
      const { samples, lines } = parsePiece(p);
      for (let k = 0; k < samples.length; k++) {
        const s = samples[k];
        const t = s.timestampMs!;
        if (t < lo || t >= hi) continue;
        const key = labelsKey(s.labels);
        let id = keys.get(key);
        if (id === undefined) {
          id = labelsById.length;
          keys.set(key, id);
          // Copy: parsed label values may be slices of the whole piece.
          labelsById.push(Object.freeze(JSON.parse(JSON.stringify(s.labels)) as Labels));
        }
        sid[n] = id;
        ts[n] = t;
        vs[n] = s.value;
        ln[n] = lines[k];
        n++;
      }
      progress?.(wi + 2, windows.length + 1, source.size ? p.bytesRead / source.size : 1);
    }
    // Time order across the window, file order within a timestamp: series may be listed one after another.
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => ts[a] - ts[b] || a - b);
    for (let start = 0; start < n; start += BATCH) {
      const app = db.appender();
      const end = Math.min(n, start + BATCH);
      for (let j = start; j < end; j++) {
        const i = order[j];
        const t = ts[i];
        try {
          app.append(labelsById[sid[i]], t, vs[i]);
          result.samples++;
          if (t < result.minT) result.minT = t;
          if (t > result.maxT) result.maxT = t;
        } catch (err) {
          if (!(err instanceof SampleError)) throw err;
          result.rejected++;
          if (result.problems.length < MAX_REPORTED) result.problems.push(`line ${ln[i]}: ${err.message}`);
        }
      }
      await app.commit();
    }
    // Write the window's chunks out so the head stays small.
    db.checkpoint();
  }
  result.series = db.stats().series - seriesBefore;
  return result;
}

/** Imports OpenMetrics backfill text (see importSource). */
export async function importOpenMetrics(db: Tsdb, text: string): Promise<ImportResult> {
  return importSource(db, textSource(text));
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
  let size: number;
  try {
    const { statSync } = await import('node:fs');
    const st = statSync(file);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (err) {
    console.error(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    return 1;
  }
  const db = await openTsdb({ dir, retentionMs, logger: createLogger({ level: 'warn' }), checkpointIntervalMs: 0 });
  const tty = process.stderr.isTTY;
  let lastDraw = 0;
  const progress: ImportProgress | undefined = tty
    ? (pass, passes, fraction) => {
        const now = Date.now();
        if (now - lastDraw < 200 && fraction < 1) return;
        lastDraw = now;
        const label = pass === 1 ? 'checking' : `importing window ${pass - 1}/${passes - 1}`;
        process.stderr.write(`\r${label}: ${(fraction * 100).toFixed(0).padStart(3)}%   `);
      }
    : undefined;
  try {
    const r = await importSource(db, fileSource(file, size), progress);
    if (tty) process.stderr.write('\r\x1b[K');
    for (const p of r.problems) console.error(`${file}: ${p}`);
    if (r.rejected > r.problems.length) console.error(`${file}: ... ${r.rejected - r.problems.length} more rejected samples`);
    const range = r.samples ? ` from ${new Date(r.minT).toISOString()} to ${new Date(r.maxT).toISOString()}` : '';
    console.log(`imported ${r.samples} samples of ${r.series} new series into ${dir}${range}${r.rejected ? `; rejected ${r.rejected}` : ''}`);
    return r.rejected ? 1 : 0;
  } catch (err) {
    if (tty) process.stderr.write('\r\x1b[K');
    if (err instanceof ExpositionError) {
      console.error(`${file}:${err.line}: ${err.reason}`);
      return 1;
    }
    throw err;
  } finally {
    await db.close();
  }
}
