/**
 * Parser for the Prometheus text exposition format (0.0.4) and OpenMetrics text
 * (1.0.0). It is on the hot path of every scrape: it scans by char codes with no
 * regex or split per line, builds each label set once with interned names and
 * values, and identifies series by an order-independent hash of their label
 * pairs (checked pair by pair) instead of sorted string keys. A parser instance
 * kept per scrape target also remembers its series between scrapes: a target
 * lists the same series in the same order scrape after scrape, so most lines
 * are matched against the previous scrape's line with one string comparison, and the
 * scrape loop gets the same label objects to key its own caches on.
 */
import { flatString } from '../util/flat-string.js';
import type { Labels } from '../tsdb/types.js';
import {
  CR,
  excerpt,
  fastDecimal,
  fastInteger,
  HASH,
  Interner,
  isNameChar,
  isNameStart,
  LBRACE,
  mix,
  beginCopies,
  endCopies,
  ownCopy,
  sameText,
  scanLabels,
  textAt,
  ScanError,
  scratch,
  SPACE,
  TAB,
  unescapeValue,
} from './exposition-scan.js';
import { LabelShapes } from './label-shapes.js';
import { grown } from '../util/typed-array.js';
import { SeriesTable } from '../util/series-table.js';

export interface ParsedSample {
  labels: Labels;
  value: number;
  /** Unix milliseconds, when the exposition gave a timestamp. */
  timestampMs?: number;
}

/**
 * Samples in columns, reused from batch to batch: a scrape's stream of lines
 * goes to the series mapper this way, without an object per sample.
 */
export class ParsedColumns {
  labels: Labels[] = [];
  values = new Float64Array(1024);
  /** Unix ms; NaN when the exposition gave no timestamp. */
  ts = new Float64Array(1024);
  n = 0;

  push(labels: Labels, value: number, ts: number): void {
    const i = this.n;
    if (i === this.values.length) {
      this.values = grown(this.values, i * 2);
      this.ts = grown(this.ts, i * 2);
    }
    this.labels[i] = labels;
    this.values[i] = value;
    this.ts[i] = ts;
    this.n = i + 1;
  }
}

export interface MetricMetadata {
  type: string;
  help?: string;
  unit?: string;
}

export interface ParseOptions {
  /** Parse as OpenMetrics (timestamps in seconds, `# EOF` required). */
  openMetrics?: boolean;
  /** Longest accepted line in characters; longer lines fail the parse. */
  maxLineLength?: number;
  /**
   * Accept the same series more than once at different timestamps, as backfill
   * files list it. The same series twice at one timestamp (or without one) is
   * still a duplicate. Off for scrapes: a target exposes each series once.
   */
  allowRepeatedSeries?: boolean;
  /** Also return the 1-based input line of every sample (`ParseResult.lines`). */
  sampleLines?: boolean;
  /** Samples go into these columns (the caller empties them) instead of `samples`. */
  columns?: ParsedColumns;
}

export interface ParseResult {
  samples: ParsedSample[];
  metadata: Map<string, MetricMetadata>;
  /** With `sampleLines`: `lines[k]` is the input line of `samples[k]`. */
  lines?: number[];
}

/** A malformed exposition: `line` is 1-based. */
export class ExpositionError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'ExpositionError';
  }
}

export const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024;

const TEXT_TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const OM_TYPES = new Set(['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown']);

/** Hash of "__name__" as scanLabels computes label name hashes. */
const NAME_LABEL_HASH = (() => {
  let h = 0x811c9dc5;
  for (const ch of '__name__') h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h;
})();

/** Above this many pairs a label set is checked for repeated names with a Set, not pairwise. */
const PAIRWISE_MAX = 16;

/** A distinct series of the current (or, in a kept parser, previous) parse. */
interface SeriesEntry {
  labels: Labels;
  /** Non-empty labels, __name__ included. */
  count: number;
  /** Generation of the last parse that saw this series (duplicate detection). */
  seen: number;
  /** Position in that parse's series order. */
  idx: number;
  /** Series text as last exposed (kept parsers only): the fast match for the next scrape. */
  text: string;
  /** Timestamp of the first sample of this series in the current parse. */
  firstTs: number | undefined;
  /** With allowRepeatedSeries: every timestamp of this series in the current parse, ascending. */
  tss: number[] | undefined;
}

/** State of one parse between `begin` and `finish`. */
interface ParseRun {
  om: boolean;
  maxLine: number;
  allowRepeated: boolean;
  lines: number[] | undefined;
  columns: ParsedColumns | undefined;
  gen: number;
  typed: Set<string>;
  samples: ParsedSample[];
  metadata: Map<string, MetricMetadata>;
  lineNo: number;
  sawEof: boolean;
}

/** Parses a sample value the way Go's strconv.ParseFloat does for expositions. */
export function parseValue(s: string): number {
  if (s.length === 0) return NaN;
  const c = s.charCodeAt(0);
  // Fast path: plain decimal numbers.
  if ((c >= 48 && c <= 57) || c === 45 || c === 46 || c === 43) {
    const v = Number(s);
    if (v === v) return v;
  }
  switch (s.toLowerCase()) {
    case 'nan':
      return NaN;
    case '+inf':
    case 'inf':
    case '+infinity':
    case 'infinity':
      return Infinity;
    case '-inf':
    case '-infinity':
      return -Infinity;
  }
  return NaN;
}

function isNaNLiteral(s: string): boolean {
  return s.length === 3 && s.toLowerCase() === 'nan';
}

function slowValue(text: string, start: number, end: number, lineNo: number): number {
  const vText = text.slice(start, end);
  const value = parseValue(vText);
  if (value !== value && !isNaNLiteral(vText)) throw new ExpositionError(lineNo, `invalid value ${excerpt(vText)}`);
  return value;
}

/**
 * Parses expositions. Keep one per scrape target so what it remembers of the
 * previous scrape pays off; the memory holds only the series of the most
 * recent successful parse.
 */
export class ExpositionParser {
  private series = new SeriesTable<SeriesEntry>(4);
  /**
   * One-off parses without repeats need no per-series state: the table holds
   * the label objects themselves, and any repeat is a duplicate.
   */
  private seen = new SeriesTable<Labels>(4);
  private light = false;
  /**
   * Series in the order of the previous parse (the first `orderLen`): the
   * first guess for each line. The two order arrays are swapped and
   * overwritten parse after parse: a fresh 100k-entry array per scrape, grown
   * from empty, lived long enough to be promoted and then added to the old
   * generation's garbage.
   */
  private order: SeriesEntry[] = [];
  private orderLen = 0;
  private orderGen = 0;
  private nextOrder: SeriesEntry[] = [];
  private nextLen = 0;
  private generation = 0;
  private names = new Interner(8, 12);
  private values: Interner;
  /** Position in `order` expected to match the next line. */
  private cursor = 0;
  private distinctSeen = 0;

  /** @param remember keep series between parses (false for one-off parses: nothing to match later). */
  constructor(private readonly remember = true) {
    this.values = new Interner(10, 15, remember);
  }

  parse(text: string, opts: ParseOptions = {}): ParseResult {
    this.begin(opts, text.length);
    this.feed(text);
    return this.finish();
  }

  /**
   * Starts an incremental parse: `feed` it whole lines as they arrive (a
   * scrape body streamed off the socket), then `finish`. A scrape that crosses
   * a limit stops feeding and calls `abandon`; nothing of the rest is buffered.
   * `sizeHint` (characters, when known) sizes the series table once.
   */
  begin(opts: ParseOptions = {}, sizeHint = 0): void {
    const allowRepeated = opts.allowRepeatedSeries === true;
    const gen = ++this.generation;
    this.nextLen = 0;
    this.cursor = 0;
    this.distinctSeen = 0;
    if (this.values.full) this.values = new Interner(10, 15, this.remember);
    if (this.names.full) this.names = new Interner(8, 12);
    this.light = !this.remember && !allowRepeated;
    // Size the series table from the body once instead of growing it from small.
    if (this.light) this.seen = new SeriesTable<Labels>(tableBits(sizeHint));
    else if (this.series.count === 0) this.series = new SeriesTable<SeriesEntry>(tableBits(sizeHint));
    this.run = {
      om: opts.openMetrics === true,
      maxLine: opts.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
      allowRepeated,
      lines: opts.sampleLines ? [] : undefined,
      columns: opts.columns,
      gen,
      typed: new Set<string>(),
      samples: [],
      metadata: new Map<string, MetricMetadata>(),
      lineNo: 0,
      sawEof: false,
    };
  }

  /**
   * Takes the samples parsed since the last call, so a streaming consumer
   * holds only one batch of lines' samples at a time (`finish` then returns
   * only what was not taken).
   */
  takeSamples(): ParsedSample[] {
    const r = this.run;
    if (r === undefined) return [];
    const out = r.samples;
    r.samples = [];
    return out;
  }

  /** Parses `text`: whole lines (the last one may lack its newline only when it ends the input). */
  feed(text: string): void {
    const r = this.run;
    if (r === undefined) throw new Error('feed() before begin()');
    const { om, maxLine, allowRepeated, lines, columns, gen } = r;
    const samples = r.samples;
    const len = text.length;
    let pos = 0;
    let lineNo = r.lineNo;
    beginCopies(text);
    try {
      while (pos < len) {
        lineNo++;
        let end = text.indexOf('\n', pos);
        if (end < 0) end = len;
        let lineEnd = end;
        if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === CR) lineEnd--;
        if (lineEnd - pos > maxLine) {
          throw new ExpositionError(lineNo, `line too long (${lineEnd - pos} characters, limit ${maxLine})`);
        }
        if (r.sawEof) throw new ExpositionError(lineNo, 'content after "# EOF"');
        const start = pos;
        pos = end + 1;

        if (lineEnd === start) {
          if (om) throw new ExpositionError(lineNo, 'empty line (not allowed in OpenMetrics)');
          continue;
        }
        let c0 = text.charCodeAt(start);
        let first = start;
        if (!om && (c0 === SPACE || c0 === TAB)) {
          // 0.0.4 allows blank lines made of whitespace and indented samples.
          while (first < lineEnd && (c0 === SPACE || c0 === TAB)) c0 = text.charCodeAt(++first);
          if (first === lineEnd) continue;
        }
        if (c0 === HASH) {
          if (this.comment(text, first, lineEnd, lineNo, om, r.metadata, r.typed)) r.sawEof = true;
          continue;
        }
        const labels = this.sample(text, first, lineEnd, lineNo, om, gen, allowRepeated);
        const ts = this.sampleTs;
        if (columns !== undefined) columns.push(labels, this.sampleValue, ts === undefined ? NaN : ts);
        else samples.push(ts === undefined ? { labels, value: this.sampleValue } : { labels, value: this.sampleValue, timestampMs: ts });
        if (lines !== undefined) lines.push(lineNo);
      }
    } catch (err) {
      this.abandon();
      if (err instanceof ScanError) throw new ExpositionError(lineNo, err.message);
      throw err;
    } finally {
      endCopies();
      r.lineNo = lineNo;
    }
  }

  /** Ends the incremental parse and returns its result. */
  finish(): ParseResult {
    const r = this.run;
    if (r === undefined) throw new Error('finish() before begin()');
    this.run = undefined;
    if (r.om && !r.sawEof) throw new ExpositionError(r.lineNo + 1, 'missing "# EOF" at the end of OpenMetrics input');
    if (this.remember) {
      [this.order, this.nextOrder] = [this.nextOrder, this.order];
      this.orderLen = this.nextLen;
      // Entries past the new order's end are old series: do not keep them alive for long.
      if (this.nextOrder.length > 2 * this.orderLen + 1024) this.nextOrder = [];
      this.orderGen = r.gen;
      // Forget series the target no longer exposes; costs a sweep only when it changed.
      if (this.series.count > this.distinctSeen) this.series.retain((e) => e.seen === r.gen);
    } else {
      this.series = new SeriesTable<SeriesEntry>(4);
      this.seen = new SeriesTable<Labels>(4);
    }
    this.nextLen = 0;
    const { samples, metadata, lines } = r;
    return lines === undefined ? { samples, metadata } : { samples, metadata, lines };
  }

  /** Drops the current incremental parse (a failed or aborted scrape); what the previous parse remembered stays. */
  abandon(): void {
    this.run = undefined;
    this.nextLen = 0;
  }

  private run: ParseRun | undefined;

  /** Value and timestamp of the line `sample` parsed last. */
  private sampleValue = 0;
  private sampleTs: number | undefined = undefined;

  /** Parses the sample line at `start`: returns its labels, and leaves value and timestamp in `sampleValue` and `sampleTs`. */
  private sample(text: string, start: number, end: number, lineNo: number, om: boolean, gen: number, allowRepeated: boolean): Labels {
    let entry: SeriesEntry | undefined;
    let labels: Labels;
    let seriesEnd = 0;
    let repeated: boolean;
    if (this.light) {
      seriesEnd = this.scanSeries(text, start, end, lineNo);
      const hash = scratch.setHash;
      let found: Labels | undefined;
      for (let k = this.seen.first(hash); k >= 0; k = this.seen.next(k, hash)) {
        const l = this.seen.at(k);
        if (this.sameLabels(l, Object.keys(l).length, text, start)) {
          found = l;
          break;
        }
      }
      repeated = found !== undefined;
      if (found === undefined) {
        labels = this.buildLabels(text, start);
        this.seen.add(hash, labels);
      } else labels = found;
    } else {
      entry = this.entryOf(text, start, end, lineNo, gen);
      labels = entry.labels;
      repeated = entry.seen === gen;
      this.markSeen(entry, gen);
    }
    this.valueOf(text, start, seriesEnd === 0 ? this.seriesEnd : seriesEnd, end, lineNo, om, entry, repeated, allowRepeated);
    return labels;
  }

  private seriesEnd = 0;

  /** The remembered series of the line at `start`; sets `seriesEnd`. */
  private entryOf(text: string, start: number, end: number, lineNo: number, gen: number): SeriesEntry {
    let entry: SeriesEntry | undefined;
    let seriesEnd = 0;
    // The line at this position in the previous parse, tried before scanning
    // anything. A remembered text is a complete, valid series, so if the line
    // starts with it and a blank follows, it is this line's series.
    if (this.cursor < this.orderLen) {
      const guess = this.order[this.cursor];
      const t = guess.text;
      const after = text.charCodeAt(start + t.length);
      if ((after === SPACE || after === TAB) && textAt(text, start, t)) {
        entry = guess;
        seriesEnd = start + t.length;
      }
    }
    if (entry === undefined) {
      seriesEnd = this.scanSeries(text, start, end, lineNo);
      entry = this.lookup(text, start);
      if (this.remember && entry.seen !== gen && !(entry.text.length === seriesEnd - start && textAt(text, start, entry.text))) {
        entry.text = ownCopy(text, start, seriesEnd);
      }
    }
    this.seriesEnd = seriesEnd;
    return entry;
  }

  private markSeen(entry: SeriesEntry, gen: number): void {
    if (entry.seen !== gen) {
      // Resynchronise the guesses after inserted or removed series.
      if (entry.seen === this.orderGen && this.remember) this.cursor = entry.idx + 1;
      entry.seen = gen;
      this.distinctSeen++;
      if (this.remember) {
        entry.idx = this.nextLen;
        this.nextOrder[this.nextLen++] = entry;
      }
    }
  }

  /** Parses value, timestamp and exemplar after the series text into `sampleValue` and `sampleTs`; checks for duplicates. */
  private valueOf(
    text: string,
    start: number,
    seriesEnd: number,
    end: number,
    lineNo: number,
    om: boolean,
    entry: SeriesEntry | undefined,
    repeated: boolean,
    allowRepeated: boolean,
  ): void {
    // Value and optional timestamp, separated by spaces/tabs.
    let i = seriesEnd;
    let c = text.charCodeAt(i);
    if (i >= end || (c !== SPACE && c !== TAB)) {
      throw new ExpositionError(lineNo, `expected a space and a value after ${excerpt(text.slice(start, seriesEnd))}`);
    }
    while (i < end && (c === SPACE || c === TAB)) c = text.charCodeAt(++i);
    const vStart = i;
    while (i < end && c !== SPACE && c !== TAB) c = text.charCodeAt(++i);
    if (vStart === i) throw new ExpositionError(lineNo, `missing value for ${excerpt(text.slice(start, seriesEnd))}`);
    const value = fastDecimal(text, vStart, i) ?? slowValue(text, vStart, i, lineNo);
    while (i < end && (c === SPACE || c === TAB)) c = text.charCodeAt(++i);
    let timestampMs: number | undefined;
    if (i < end && c !== HASH) {
      const tStart = i;
      while (i < end && c !== SPACE && c !== TAB) c = text.charCodeAt(++i);
      if (om) {
        const v = fastDecimal(text, tStart, i);
        timestampMs = v === undefined ? parseTimestamp(text.slice(tStart, i), om, lineNo) : Math.round(v * 1000);
      } else {
        timestampMs = fastInteger(text, tStart, i) ?? parseTimestamp(text.slice(tStart, i), om, lineNo);
      }
      while (i < end && (c === SPACE || c === TAB)) c = text.charCodeAt(++i);
    }
    if (i < end) {
      // An exemplar (` # {trace_id="..."} 1.0 [ts]`): checked for shape, then ignored.
      if (c !== HASH || i + 1 >= end || text.charCodeAt(i + 1) !== SPACE) {
        throw new ExpositionError(lineNo, `unexpected text after the value: ${excerpt(text.slice(i, end))}`);
      }
      let j = i + 2;
      if (text.charCodeAt(j) !== LBRACE) throw new ExpositionError(lineNo, 'invalid exemplar: expected "{" after "# "');
      j = scanLabels(text, j, end);
      if (j >= end || (text.charCodeAt(j) !== SPACE && text.charCodeAt(j) !== TAB)) {
        throw new ExpositionError(lineNo, 'invalid exemplar: missing value');
      }
    }
    if (repeated) this.repeat(entry, timestampMs, allowRepeated, text, start, seriesEnd, lineNo);
    else if (entry !== undefined) {
      entry.firstTs = timestampMs;
      entry.tss = undefined;
    }
    this.sampleValue = value;
    this.sampleTs = timestampMs;
  }

  /** A series seen before in this parse: a duplicate unless repeats are allowed and its timestamp is new. */
  private repeat(entry: SeriesEntry | undefined, ts: number | undefined, allowRepeated: boolean, text: string, start: number, seriesEnd: number, lineNo: number): void {
    const dup = () =>
      new ExpositionError(lineNo, `duplicate series ${excerpt(text.slice(start, seriesEnd), 120)}${ts === undefined ? '' : ` at timestamp ${ts}`}`);
    if (entry === undefined || !allowRepeated || ts === undefined || entry.firstTs === undefined) throw dup();
    const tss = (entry.tss ??= [entry.firstTs]);
    const last = tss[tss.length - 1];
    if (ts > last) {
      tss.push(ts);
      return;
    }
    let lo = 0;
    let hi = tss.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (tss[mid] < ts) lo = mid + 1;
      else hi = mid;
    }
    if (tss[lo] === ts) throw dup();
    tss.splice(lo, 0, ts);
  }

  /**
   * Scans the metric name and label set at `start` into `scratch` (validating
   * it) and returns the index after the series text. `scratch.setHash` then
   * covers the name too.
   */
  private scanSeries(text: string, start: number, end: number, lineNo: number): number {
    let c = text.charCodeAt(start);
    if (!isNameStart(c)) throw new ExpositionError(lineNo, `invalid metric name at ${excerpt(text.slice(start, end))}`);
    let h = Math.imul(0x811c9dc5 ^ c, 16777619);
    let i = start + 1;
    while (i < end) {
      c = text.charCodeAt(i);
      if (!isNameChar(c)) break;
      h = Math.imul(h ^ c, 16777619);
      i++;
    }
    this.nameEnd = i;
    this.nameHash = h;
    if (i < end && c === LBRACE) {
      i = scanLabels(text, i, end);
      checkPairs(text, lineNo);
    } else {
      scratch.n = 0;
      scratch.setHash = 0;
    }
    scratch.setHash = (scratch.setHash + mix(h ^ 0x5bd1e995)) | 0;
    return i;
  }

  private nameEnd = 0;
  private nameHash = 0;

  /** The entry of the scanned series: an existing one with the same labels, or a new one. */
  private lookup(text: string, start: number): SeriesEntry {
    const hash = scratch.setHash;
    const table = this.series;
    for (let k = table.first(hash); k >= 0; k = table.next(k, hash)) {
      const e = table.at(k);
      if (this.sameLabels(e.labels, e.count, text, start)) return e;
    }
    const labels = this.buildLabels(text, start);
    let count = 1;
    for (let k = 0; k < scratch.n; k++) if (scratch.pos[k * 4 + 3] > scratch.pos[k * 4 + 2]) count++;
    const entry: SeriesEntry = { labels, count, seen: 0, idx: -1, text: '', firstTs: undefined, tss: undefined };
    table.add(hash, entry);
    return entry;
  }

  /** Whether `labels` (`count` labels, __name__ included) are the scanned series. */
  private sameLabels(labels: Labels, labelCount: number, text: string, start: number): boolean {
    const name = labels.__name__;
    if (name.length !== this.nameEnd - start || !text.startsWith(name, start)) return false;
    let count = 1;
    const { pos, escaped } = scratch;
    for (let k = 0; k < scratch.n; k++) {
      const vs = pos[k * 4 + 2];
      const ve = pos[k * 4 + 3];
      if (ve === vs) continue;
      count++;
      const v = labels[this.labelName(text, k)];
      if (v === undefined) return false;
      if (escaped[k] ? v !== unescapeValue(text.slice(vs, ve)) : v.length !== ve - vs || !text.startsWith(v, vs)) return false;
    }
    return count === labelCount;
  }

  /** The label object of the scanned series, built from interned names and values. */
  private buildLabels(text: string, start: number): Labels {
    const { pos, hashes, escaped } = scratch;
    const names = this.nameBuf;
    const values = this.valueBuf;
    let n = 0;
    for (let k = 0; k < scratch.n; k++) {
      const vs = pos[k * 4 + 2];
      const ve = pos[k * 4 + 3];
      // Empty label values mean "no label" in Prometheus.
      if (ve === vs) continue;
      names[n] = this.labelName(text, k);
      if (escaped[k]) values[n] = unescapeValue(text.slice(vs, ve));
      // Repeated values (methods, status codes, pods) become one shared string:
      // fewer allocations and less for the GC to move. A kept parser's labels
      // live on in the store, so its values are copies that do not pin this
      // body; a one-off parse returns slices (see parseExposition).
      else values[n] = this.values.get(text, vs, ve, hashes[k * 2 + 1]);
      n++;
    }
    // Consecutive series mostly share their metric name.
    let metric = this.prevMetric;
    if (!sameText(text, start, this.nameEnd, metric)) metric = this.prevMetric = this.names.get(text, start, this.nameEnd, this.nameHash);
    return this.shapes.build(metric, names, values, n);
  }

  /** Interned name of scanned pair `k`; the same position in the previous label set is tried first. */
  private labelName(text: string, k: number): string {
    const s = scratch.pos[k * 4];
    const e = scratch.pos[k * 4 + 1];
    const prev = this.prevNames[k];
    if (prev !== undefined && sameText(text, s, e, prev)) return prev;
    const name = this.names.get(text, s, e, scratch.hashes[k * 2]);
    this.prevNames[k] = name;
    return name;
  }

  private nameBuf: string[] = [];
  private valueBuf: string[] = [];
  private prevNames: string[] = [];
  private prevMetric = '';
  private shapes = new LabelShapes();

  /** Handles a `#` line; returns true for `# EOF`. */
  private comment(
    text: string,
    start: number,
    end: number,
    lineNo: number,
    om: boolean,
    metadata: Map<string, MetricMetadata>,
    typed: Set<string>,
  ): boolean {
    const line = text.slice(start, end);
    if (line === '# EOF') return true;
    let kind: 'HELP' | 'TYPE' | 'UNIT' | undefined;
    if (line.startsWith('# HELP ')) kind = 'HELP';
    else if (line.startsWith('# TYPE ')) kind = 'TYPE';
    else if (line.startsWith('# UNIT ')) kind = 'UNIT';
    if (!kind) {
      if (om) throw new ExpositionError(lineNo, `invalid comment ${excerpt(line)} (OpenMetrics allows only HELP, TYPE, UNIT and EOF)`);
      return false; // a plain comment in 0.0.4
    }
    let i = 7;
    while (i < line.length && line.charCodeAt(i) === SPACE) i++;
    const nameStart = i;
    if (!isNameStart(line.charCodeAt(i))) throw new ExpositionError(lineNo, `invalid metric name in ${kind} line: ${excerpt(line)}`);
    while (i < line.length && isNameChar(line.charCodeAt(i))) i++;
    // Kept (metadata, TYPE names) and copied flat: a slice would hold the whole batch of lines
    // it came from until the scrape ends, and a scrape's body text then outlived the young generation.
    const name = flatString(line.slice(nameStart, i));
    let rest = '';
    if (i < line.length) {
      const c = line.charCodeAt(i);
      if (c !== SPACE && c !== TAB) throw new ExpositionError(lineNo, `invalid metric name in ${kind} line: ${excerpt(line)}`);
      rest = line.slice(i + 1);
    }
    let meta = metadata.get(name);
    if (!meta) {
      meta = { type: om ? 'unknown' : 'untyped' };
      metadata.set(name, meta);
    }
    if (kind === 'HELP') {
      if (meta.help !== undefined) throw new ExpositionError(lineNo, `second HELP line for ${name}`);
      meta.help = flatString(unescapeHelp(rest, om, lineNo));
    } else if (kind === 'TYPE') {
      const type = rest.trim();
      if (!(om ? OM_TYPES : TEXT_TYPES).has(type)) throw new ExpositionError(lineNo, `invalid metric type ${excerpt(type)} for ${name}`);
      if (typed.has(name)) throw new ExpositionError(lineNo, `second TYPE line for ${name}`);
      typed.add(name);
      meta.type = flatString(type);
    } else {
      if (!om) throw new ExpositionError(lineNo, 'UNIT lines are only valid in OpenMetrics');
      if (meta.unit !== undefined) throw new ExpositionError(lineNo, `second UNIT line for ${name}`);
      const unit = rest.trim();
      if (unit && !name.endsWith(`_${unit}`)) throw new ExpositionError(lineNo, `unit ${excerpt(unit)} is not a suffix of ${name}`);
      meta.unit = flatString(unit);
    }
    return false;
  }
}

/** Table size for a body of `chars` characters: about one slot per 64 characters (the table grows if lines are shorter). */
function tableBits(chars: number): number {
  return Math.min(22, Math.max(4, Math.ceil(Math.log2(chars / 64 + 1))));
}

/** Rejects `__name__` inside braces and a label name given twice (Prometheus rejects both). */
function checkPairs(text: string, lineNo: number): void {
  const { n, pos, hashes } = scratch;
  if (n > PAIRWISE_MAX) {
    const names = new Set<string>();
    for (let k = 0; k < n; k++) {
      const name = text.slice(pos[k * 4], pos[k * 4 + 1]);
      if (name === '__name__') throw new ExpositionError(lineNo, 'label __name__ is not allowed inside braces');
      if (names.has(name)) throw new ExpositionError(lineNo, `duplicate label ${excerpt(name)}`);
      names.add(name);
    }
    return;
  }
  for (let k = 0; k < n; k++) {
    const s = pos[k * 4];
    const len = pos[k * 4 + 1] - s;
    if (hashes[k * 2] === NAME_LABEL_HASH && len === 8 && text.startsWith('__name__', s)) {
      throw new ExpositionError(lineNo, 'label __name__ is not allowed inside braces');
    }
    for (let j = 0; j < k; j++) {
      if (hashes[j * 2] !== hashes[k * 2] || pos[j * 4 + 1] - pos[j * 4] !== len) continue;
      const name = text.slice(s, s + len);
      if (text.startsWith(name, pos[j * 4])) throw new ExpositionError(lineNo, `duplicate label ${excerpt(name)}`);
    }
  }
}

function unescapeHelp(s: string, om: boolean, lineNo: number): string {
  if (s.indexOf('\\') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '\\') {
      out += s[i];
      continue;
    }
    const e = s[++i];
    if (e === 'n') out += '\n';
    else if (e === '\\') out += '\\';
    else if (om && e === '"') out += '"';
    else if (!om) out += '\\' + (e ?? ''); // 0.0.4 keeps unknown escapes in HELP literally
    else throw new ExpositionError(lineNo, `invalid escape ${excerpt('\\' + (e ?? ''))} in HELP`);
  }
  return out;
}

function parseTimestamp(s: string, om: boolean, lineNo: number): number {
  if (om) {
    const v = Number(s);
    if (!Number.isFinite(v) || s.trim() === '') throw new ExpositionError(lineNo, `invalid timestamp ${excerpt(s)} (OpenMetrics: seconds)`);
    return Math.round(v * 1000);
  }
  let i = 0;
  if (s.charCodeAt(0) === 45) i = 1;
  if (i >= s.length) throw new ExpositionError(lineNo, `invalid timestamp ${excerpt(s)} (milliseconds, an integer)`);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) throw new ExpositionError(lineNo, `invalid timestamp ${excerpt(s)} (milliseconds, an integer)`);
  }
  const v = Number(s);
  if (!Number.isSafeInteger(v)) throw new ExpositionError(lineNo, `timestamp out of range ${excerpt(s)}`);
  return v;
}

/**
 * One-off parse; scrape loops keep an ExpositionParser per target instead.
 * Label values of the result may be slices of `text` (no copy, for speed), so
 * they keep `text` in memory as long as they are referenced.
 */
export function parseExposition(text: string, opts?: ParseOptions): ParseResult {
  return new ExpositionParser(false).parse(text, opts);
}

/** Whether a Content-Type header announces OpenMetrics text. */
export function isOpenMetricsContentType(contentType: string | null | undefined): boolean {
  return !!contentType && contentType.toLowerCase().startsWith('application/openmetrics-text');
}
