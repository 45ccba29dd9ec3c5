/**
 * `vigil tsdb import FILE [--data DIR] [--retention 15d]`: backfills OpenMetrics
 * text with timestamps (what `promtool tsdb create-blocks-from openmetrics`
 * accepts: timestamps in seconds, `# EOF` last) into the data directory.
 * Vigil must not be running on that directory (the store locks it).
 *
 * The input is streamed, never held whole (see importSource).
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExpositionError, parseExposition, type ParsedSample } from '../collectors/exposition.js';
import { parseDuration } from '../model/duration.js';
import { createLogger } from '../logger.js';
import { labelsKey } from '../model/labels.js';
import { openTsdb, SampleError, type Labels, type Tsdb } from '../tsdb/index.js';
import { writeAll } from '../tsdb/files.js';
import { flagString, parseArgs } from './args.js';

const BATCH = 10_000;
const MAX_REPORTED = 10;
/** Samples are sorted and appended per window of this span (Prometheus' block span). */
const WINDOW_MS = 2 * 3600_000;
const READ_BYTES = 1 << 20;
const MAX_LINE = 1024 * 1024;

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
  (phase: 'reading' | 'appending', fraction: number): void;
}

/** Bytes per spilled sample: series id (u32), line (f64), time (f64), value (f64). */
const REC = 28;
const SPILL_BUFFER = 64 * 1024;

/** Samples of one time window, spilled to a file during the reading pass. */
class Spill {
  private readonly fd: number;
  private buf = Buffer.allocUnsafe(SPILL_BUFFER);
  private at = 0;
  count = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w+');
  }

  add(id: number, line: number, t: number, v: number): void {
    if (this.at + REC > this.buf.length) this.flush();
    const b = this.buf;
    b.writeUInt32LE(id, this.at);
    b.writeDoubleLE(line, this.at + 4);
    b.writeDoubleLE(t, this.at + 12);
    b.writeDoubleLE(v, this.at + 20);
    this.at += REC;
    this.count++;
  }

  flush(): void {
    if (this.at > 0) writeAll(this.fd, this.buf.subarray(0, this.at));
    this.at = 0;
  }

  readAll(): Buffer {
    this.flush();
    const out = Buffer.allocUnsafe(this.count * REC);
    let got = 0;
    while (got < out.length) {
      const n = readSync(this.fd, out, got, out.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Streams OpenMetrics backfill from `source` into the store. One reading
 * pass checks the input and spills its samples, by time window, to temporary
 * files; then each window is sorted (time order, file order within a
 * timestamp, as a whole-file sort would) and appended. Memory is bounded by
 * the samples of one window, whatever the file size. Throws ExpositionError
 * (input line numbers) for malformed input before anything is appended.
 */
export async function importSource(db: Tsdb, source: ImportSource, progress?: ImportProgress, windowMs = WINDOW_MS): Promise<ImportResult> {
  const tmp = mkdtempSync(join(tmpdir(), 'vigil-import-'));
  const spills = new Map<number, Spill>();
  try {
    const keys = new Map<string, number>();
    const labelsById: Labels[] = [];
    for (const p of source.pieces()) {
      const { samples, lines } = parsePiece(p);
      // The parser hands one label object per series within a piece: look it up once.
      const byObject = new Map<Labels, number>();
      for (let k = 0; k < samples.length; k++) {
        const s = samples[k];
        const t = s.timestampMs;
        if (t === undefined) throw new ExpositionError(lines[k], 'sample has no timestamp (backfilling needs one on every sample)');
        let id = byObject.get(s.labels);
        if (id === undefined) id = keys.get(labelsKey(s.labels));
        if (id === undefined) {
          // Copy, and key the copy: parsed label values are slices of the piece's text, and a
          // key built from them would keep every piece that introduced a series in memory.
          const labels = Object.freeze(JSON.parse(JSON.stringify(s.labels)) as Labels);
          id = labelsById.length;
          keys.set(labelsKey(labels), id);
          labelsById.push(labels);
        }
        byObject.set(s.labels, id);
        const w = Math.floor(t / windowMs);
        let spill = spills.get(w);
        if (!spill) spills.set(w, (spill = new Spill(join(tmp, String(w)))));
        spill.add(id, lines[k], t, s.value);
      }
      progress?.('reading', source.size ? p.bytesRead / source.size : 1);
    }
    keys.clear();
    const result: ImportResult = { samples: 0, series: 0, rejected: 0, problems: [], minT: Infinity, maxT: -Infinity };
    const seriesBefore = db.stats().series;
    const windows = [...spills.keys()].sort((a, b) => a - b);
    let done = 0;
    for (const w of windows) {
      const spill = spills.get(w)!;
      const data = spill.readAll();
      spill.close();
      spills.delete(w);
      rmSync(spill.path, { force: true });
      const n = spill.count;
      const ts = new Float64Array(n);
      for (let i = 0; i < n; i++) ts[i] = data.readDoubleLE(i * REC + 12);
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
            app.append(labelsById[data.readUInt32LE(i * REC)], t, data.readDoubleLE(i * REC + 20));
            result.samples++;
            if (t < result.minT) result.minT = t;
            if (t > result.maxT) result.maxT = t;
          } catch (err) {
            if (!(err instanceof SampleError)) throw err;
            result.rejected++;
            if (result.problems.length < MAX_REPORTED) result.problems.push(`line ${data.readDoubleLE(i * REC + 4)}: ${err.message}`);
          }
        }
        await app.commit();
      }
      // Write the window's chunks out so the head stays small.
      db.checkpoint();
      progress?.('appending', ++done / windows.length);
    }
    result.series = db.stats().series - seriesBefore;
    return result;
  } finally {
    for (const s of spills.values()) s.close();
    rmSync(tmp, { recursive: true, force: true });
  }
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
    ? (phase, fraction) => {
        const now = Date.now();
        if (now - lastDraw < 200 && fraction < 1) return;
        lastDraw = now;
        process.stderr.write(`\r${phase}: ${(fraction * 100).toFixed(0).padStart(3)}%   `);
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
