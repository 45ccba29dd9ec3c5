/**
 * Parser for the Prometheus text exposition format (0.0.4) and OpenMetrics text
 * (1.0.0). It is on the hot path of every scrape, so it scans by char codes with
 * no regex per line, and a parser instance caches the label set of each series
 * text between scrapes (a target's series rarely change), which also gives the
 * scrape loop stable label objects to key its own caches on.
 */
import type { Labels } from '../tsdb/types.js';

export interface ParsedSample {
  labels: Labels;
  value: number;
  /** Unix milliseconds, when the exposition gave a timestamp. */
  timestampMs?: number;
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
}

export interface ParseResult {
  samples: ParsedSample[];
  metadata: Map<string, MetricMetadata>;
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

const SPACE = 32;
const TAB = 9;
const CR = 13;
const HASH = 35;
const LBRACE = 123;
const RBRACE = 125;
const COMMA = 44;
const EQ = 61;
const QUOTE = 34;
const BACKSLASH = 92;

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
}
function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 58;
}
function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}
function isLabelStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isLabelChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
}

/** A short, printable excerpt of hostile input for error messages. */
function excerpt(s: string, max = 40): string {
  const cut = s.length > max ? s.slice(0, max) + '…' : s;
  return JSON.stringify(cut);
}

/** One distinct series text in the cache; chained by hash. */
interface TextNode {
  text: string;
  series: SeriesEntry;
  seen: number;
  next: TextNode | undefined;
}

interface SeriesEntry {
  labels: Labels;
  /** Canonical label key (sorted names), shared by texts naming the same series. */
  key: string;
  /** Generation of the last parse that saw this series (duplicate detection). */
  seen: number;
  /** Timestamp of that sample: the same series at other timestamps is no duplicate (backfill files). */
  lastTs: number | undefined;
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

/**
 * A reusable parser: keep one per scrape target so its series cache pays off.
 * The cache holds only the series seen by the most recent parse.
 */
export class ExpositionParser {
  /**
   * Series text hash -> chain of texts. Hashing while scanning and verifying with
   * startsWith avoids slicing and rehashing a string per sample.
   */
  private cache = new Map<number, TextNode>();
  private textCount = 0;
  /** Series texts in the order of the previous parse: the first guess for each line. */
  private order: TextNode[] = [];
  private nextOrder: TextNode[] = [];
  /** Canonical key -> entry for every cached series: same series, other label order. */
  private canonical = new Map<string, SeriesEntry>();
  private generation = 0;

  parse(text: string, opts: ParseOptions = {}): ParseResult {
    const om = opts.openMetrics === true;
    const maxLine = opts.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    const gen = ++this.generation;
    let seenCount = 0;
    this.nextOrder = [];
    const typed = new Set<string>();
    const samples: ParsedSample[] = [];
    const metadata = new Map<string, MetricMetadata>();
    const len = text.length;
    let pos = 0;
    let lineNo = 0;
    let sawEof = false;

    while (pos < len) {
      lineNo++;
      let end = text.indexOf('\n', pos);
      if (end < 0) end = len;
      let lineEnd = end;
      if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === CR) lineEnd--;
      if (lineEnd - pos > maxLine) {
        throw new ExpositionError(lineNo, `line too long (${lineEnd - pos} characters, limit ${maxLine})`);
      }
      if (sawEof) throw new ExpositionError(lineNo, 'content after "# EOF"');
      const start = pos;
      pos = end + 1;

      if (lineEnd === start) {
        if (om) throw new ExpositionError(lineNo, 'empty line (not allowed in OpenMetrics)');
        continue;
      }
      const c0 = text.charCodeAt(start);
      if (c0 === HASH) {
        if (this.comment(text, start, lineEnd, lineNo, om, metadata, typed)) sawEof = true;
        continue;
      }
      if (!om && (c0 === SPACE || c0 === TAB)) {
        // 0.0.4 allows blank lines made of whitespace and indented samples.
        let i = start;
        while (i < lineEnd && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) i++;
        if (i === lineEnd) continue;
        if (text.charCodeAt(i) === HASH) {
          if (this.comment(text, i, lineEnd, lineNo, om, metadata, typed)) sawEof = true;
          continue;
        }
        this.sample(text, i, lineEnd, lineNo, om, gen, samples);
        seenCount++;
        continue;
      }
      this.sample(text, start, lineEnd, lineNo, om, gen, samples);
      seenCount++;
    }
    if (om && !sawEof) throw new ExpositionError(lineNo + 1, 'missing "# EOF" at the end of OpenMetrics input');
    // Forget series the target no longer exposes; costs a sweep only when it changed.
    this.order = this.nextOrder;
    this.nextOrder = [];
    if (this.textCount > seenCount || this.canonical.size > seenCount) this.sweep(gen);
    return { samples, metadata };
  }

  private sweep(gen: number): void {
    let count = 0;
    for (const [h, head] of this.cache) {
      let first: TextNode | undefined;
      let last: TextNode | undefined;
      for (let n: TextNode | undefined = head; n; n = n.next) {
        if (n.seen !== gen) continue;
        if (last) last.next = n;
        else first = n;
        last = n;
        count++;
      }
      if (last) last.next = undefined;
      if (first) this.cache.set(h, first);
      else this.cache.delete(h);
    }
    this.textCount = count;
    for (const [k, e] of this.canonical) if (e.seen !== gen) this.canonical.delete(k);
  }

  private sample(
    text: string,
    start: number,
    end: number,
    lineNo: number,
    om: boolean,
    gen: number,
    samples: ParsedSample[],
  ): void {
    // Targets expose the same series in the same order scrape after scrape: try
    // the text at this position in the previous parse before scanning anything.
    // A cached text is a complete, valid series, so if the line starts with it and
    // a blank follows, it is this line's series.
    const k = this.nextOrder.length;
    const guess = k < this.order.length ? this.order[k] : undefined;
    let i: number;
    let entry: SeriesEntry;
    let seriesEnd: number;
    if (guess !== undefined && text.startsWith(guess.text, start) && isBlank(text.charCodeAt(start + guess.text.length))) {
      seriesEnd = start + guess.text.length;
      entry = guess.series;
      guess.seen = gen;
      this.nextOrder.push(guess);
    } else {
      // Find the end of the series part: the metric name, then an optional {...}.
      i = start;
      if (!isNameStart(text.charCodeAt(i))) {
        throw new ExpositionError(lineNo, `invalid metric name at ${excerpt(text.slice(start, end))}`);
      }
      i++;
      while (i < end && isNameChar(text.charCodeAt(i))) i++;
      const nameEnd = i;
      seriesEnd = nameEnd;
      const hasLabels = i < end && text.charCodeAt(i) === LBRACE;
      if (hasLabels) seriesEnd = findLabelsEnd(text, i, end);
      const hash = hashRange(text, start, seriesEnd);
      const seriesLen = seriesEnd - start;
      const head = this.cache.get(hash);
      let node = head;
      while (node !== undefined && !(node.text.length === seriesLen && text.startsWith(node.text, start))) node = node.next;
      if (node !== undefined) {
        entry = node.series;
        node.seen = gen;
      } else {
        // Full syntax check only for series text not seen before.
        if (hasLabels && skipLabels(text, i, end, lineNo) !== seriesEnd) {
          throw new ExpositionError(lineNo, `invalid label set ${excerpt(text.slice(start, end))}`);
        }
        const labels = buildLabels(text, start, nameEnd, seriesEnd, lineNo);
        const key = canonicalKey(labels);
        const same = this.canonical.get(key);
        if (same) entry = same;
        else {
          entry = { labels, key, seen: 0, lastTs: undefined };
          this.canonical.set(key, entry);
        }
        // Flatten the text so the cache does not pin this scrape's whole body.
        // (Concatenation then slice makes V8 copy just this text into a new string.)
      const own = (' ' + text.slice(start, seriesEnd)).slice(1);
        node = { text: own, series: entry, seen: gen, next: head };
        this.cache.set(hash, node);
        this.textCount++;
      }
      this.nextOrder.push(node);
    }
    const seenBefore = entry.seen === gen;
    entry.seen = gen;

    // Value and optional timestamp, separated by spaces/tabs.
    i = seriesEnd;
    const c = text.charCodeAt(i);
    if (i >= end || (c !== SPACE && c !== TAB)) {
      throw new ExpositionError(lineNo, `expected a space and a value after ${excerpt(text.slice(start, seriesEnd))}`);
    }
    while (i < end && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) i++;
    const vStart = i;
    while (i < end && text.charCodeAt(i) !== SPACE && text.charCodeAt(i) !== TAB) i++;
    if (vStart === i) throw new ExpositionError(lineNo, `missing value for ${excerpt(text.slice(start, seriesEnd))}`);
    const vText = text.slice(vStart, i);
    const value = parseValue(vText);
    if (value !== value && !isNaNLiteral(vText)) {
      throw new ExpositionError(lineNo, `invalid value ${excerpt(vText)}`);
    }
    while (i < end && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) i++;
    let timestampMs: number | undefined;
    if (i < end && text.charCodeAt(i) !== HASH) {
      const tStart = i;
      while (i < end && text.charCodeAt(i) !== SPACE && text.charCodeAt(i) !== TAB) i++;
      timestampMs = parseTimestamp(text.slice(tStart, i), om, lineNo);
      while (i < end && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) i++;
    }
    if (i < end) {
      // An exemplar (` # {trace_id="..."} 1.0 [ts]`): checked for shape, then ignored.
      if (text.charCodeAt(i) !== HASH || i + 1 >= end || text.charCodeAt(i + 1) !== SPACE) {
        throw new ExpositionError(lineNo, `unexpected text after the value: ${excerpt(text.slice(i, end))}`);
      }
      let j = i + 2;
      if (text.charCodeAt(j) !== LBRACE) throw new ExpositionError(lineNo, 'invalid exemplar: expected "{" after "# "');
      j = skipLabels(text, j, end, lineNo);
      if (j >= end || (text.charCodeAt(j) !== SPACE && text.charCodeAt(j) !== TAB)) {
        throw new ExpositionError(lineNo, 'invalid exemplar: missing value');
      }
    }
    if (seenBefore && entry.lastTs === timestampMs) {
      throw new ExpositionError(lineNo, `duplicate series ${excerpt(text.slice(start, seriesEnd), 120)}${timestampMs === undefined ? '' : ` at timestamp ${timestampMs}`}`);
    }
    entry.lastTs = timestampMs;
    samples.push(timestampMs === undefined ? { labels: entry.labels, value } : { labels: entry.labels, value, timestampMs });
  }

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
    const name = line.slice(nameStart, i);
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
      meta.help = unescapeHelp(rest, om, lineNo);
    } else if (kind === 'TYPE') {
      const type = rest.trim();
      if (!(om ? OM_TYPES : TEXT_TYPES).has(type)) throw new ExpositionError(lineNo, `invalid metric type ${excerpt(type)} for ${name}`);
      if (typed.has(name)) throw new ExpositionError(lineNo, `second TYPE line for ${name}`);
      typed.add(name);
      meta.type = type;
    } else {
      if (!om) throw new ExpositionError(lineNo, 'UNIT lines are only valid in OpenMetrics');
      if (meta.unit !== undefined) throw new ExpositionError(lineNo, `second UNIT line for ${name}`);
      const unit = rest.trim();
      if (unit && !name.endsWith(`_${unit}`)) throw new ExpositionError(lineNo, `unit ${excerpt(unit)} is not a suffix of ${name}`);
      meta.unit = unit;
    }
    return false;
  }
}

/**
 * Cheap scan for the `}` closing a label set (quotes and escapes respected), used
 * before the cache lookup; returns `end` when unterminated (then the full check
 * reports the error).
 */
function findLabelsEnd(text: string, open: number, end: number): number {
  let inQuote = false;
  for (let i = open + 1; i < end; i++) {
    const c = text.charCodeAt(i);
    if (inQuote) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inQuote = false;
    } else if (c === QUOTE) inQuote = true;
    else if (c === RBRACE) return i + 1;
  }
  return end;
}

/** Skips `{...}` starting at `open`; returns the index after `}`. Validates syntax. */
function skipLabels(text: string, open: number, end: number, lineNo: number): number {
  let i = open + 1;
  while (true) {
    while (i < end && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) i++;
    if (i >= end) throw new ExpositionError(lineNo, 'unterminated label set (missing "}")');
    let c = text.charCodeAt(i);
    if (c === RBRACE) return i + 1;
    if (!isLabelStart(c)) throw new ExpositionError(lineNo, `invalid label name at ${excerpt(text.slice(i, end))}`);
    const nStart = i;
    i++;
    while (i < end && isLabelChar(text.charCodeAt(i))) i++;
    const nEnd = i;
    while (i < end && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) i++;
    if (text.charCodeAt(i) !== EQ) {
      throw new ExpositionError(lineNo, `expected "=" after label name ${excerpt(text.slice(nStart, nEnd))}`);
    }
    i++;
    while (i < end && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) i++;
    if (text.charCodeAt(i) !== QUOTE) {
      throw new ExpositionError(lineNo, `expected a quoted value for label ${excerpt(text.slice(nStart, nEnd))}`);
    }
    i++;
    while (true) {
      if (i >= end) throw new ExpositionError(lineNo, `unterminated value for label ${excerpt(text.slice(nStart, nEnd))}`);
      c = text.charCodeAt(i);
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        const e = text.charCodeAt(i + 1);
        if (e !== BACKSLASH && e !== QUOTE && e !== 110 /* n */) {
          throw new ExpositionError(lineNo, `invalid escape ${excerpt(text.slice(i, i + 2))} in value of label ${excerpt(text.slice(nStart, nEnd))} (allowed: \\\\, \\", \\n)`);
        }
        i += 2;
        continue;
      }
      i++;
    }
    i++;
    while (i < end && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) i++;
    c = text.charCodeAt(i);
    if (c === COMMA) {
      i++;
      continue;
    }
    if (c === RBRACE) return i + 1;
    throw new ExpositionError(lineNo, `expected "," or "}" after a label value, got ${excerpt(text.slice(i, end))}`);
  }
}

/** Builds the label object of an already syntax-checked series text. */
function buildLabels(text: string, start: number, nameEnd: number, seriesEnd: number, lineNo: number): Labels {
  const labels: Record<string, string> = { __name__: text.slice(start, nameEnd) };
  if (seriesEnd === nameEnd) return labels;
  let i = nameEnd + 1;
  const end = seriesEnd - 1;
  while (true) {
    while (i < end && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) i++;
    if (i >= end) break;
    const nStart = i;
    while (isLabelChar(text.charCodeAt(i))) i++;
    const name = text.slice(nStart, i);
    i = text.indexOf('"', i) + 1;
    const vStart = i;
    let hasEscape = false;
    while (text.charCodeAt(i) !== QUOTE) {
      if (text.charCodeAt(i) === BACKSLASH) {
        hasEscape = true;
        i += 2;
      } else i++;
    }
    let value = text.slice(vStart, i);
    if (hasEscape) value = unescapeValue(value);
    i++;
    if (name === '__name__') throw new ExpositionError(lineNo, 'label __name__ is not allowed inside braces');
    if (Object.prototype.hasOwnProperty.call(labels, name)) {
      throw new ExpositionError(lineNo, `duplicate label ${excerpt(name)}`);
    }
    // Empty label values mean "no label" in Prometheus.
    if (value !== '') labels[name] = value;
    while (i < end && text.charCodeAt(i) !== COMMA) i++;
    i++;
  }
  return labels;
}

function unescapeValue(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH) {
      const e = s[++i];
      out += e === 'n' ? '\n' : e;
    } else out += s[i];
  }
  return out;
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

/** FNV-1a over a range of char codes. */
function hashRange(text: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h | 0;
}

function canonicalKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const n of names) key += `${n}\xff${labels[n]}\xfe`;
  return key;
}

/** One-shot parse (no cache reuse); scrape loops keep an ExpositionParser instead. */
export function parseExposition(text: string, opts?: ParseOptions): ParseResult {
  return new ExpositionParser().parse(text, opts);
}

/** Whether a Content-Type header announces OpenMetrics text. */
export function isOpenMetricsContentType(contentType: string | null | undefined): boolean {
  return !!contentType && contentType.toLowerCase().startsWith('application/openmetrics-text');
}
