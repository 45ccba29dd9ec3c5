import type { Labels } from '../../tsdb/types.js';
import { parseDuration } from '../../model/duration.js';
import { unquote } from '../strings.js';
import { addHistograms, subHistograms, type FloatHistogram } from '../../model/histogram.js';
import { parseHistogramLiteral } from './histogram-literal.js';

/**
 * Parser for Prometheus's PromQL test-script format (see the FORMAT.md beside
 * the shared conformance files): load blocks, evals and their expectations.
 */

export interface SeriesValues {
  labels: Labels;
  /** One entry per interval step; undefined = no sample. `stale` = staleness marker. */
  values: StepValue[];
  /** The line held native-histogram values. */
  native: boolean;
}

export interface LoadCmd {
  kind: 'load';
  line: number;
  intervalMs: number;
  nhcb: boolean;
  series: SeriesValues[];
}

export interface ClearCmd {
  kind: 'clear';
  line: number;
}

export interface Expected {
  /** Undefined for a scalar/string result line. */
  labels: Labels | undefined;
  values: StepValue[];
  native: boolean;
  /** An expected histogram named its counter reset hint, so the hint is compared too. */
  hintSet: boolean;
  raw: string;
}

export interface EvalCmd {
  kind: 'eval';
  line: number;
  expr: string;
  range: { start: number; end: number; step: number } | undefined;
  at: number;
  fail: boolean;
  failMessage: string | undefined;
  failRegex: string | undefined;
  /** `eval_warn` / `eval_info` (older form): at least one annotation of that kind. */
  warn: boolean;
  info: boolean;
  /** `expect warn|info [msg|regex: ...]`: each must match an annotation, and every annotation one of them. */
  expectWarn: AnnotationExpect[];
  expectInfo: AnnotationExpect[];
  /** `expect no_warn` / `expect no_info`. */
  noWarn: boolean;
  noInfo: boolean;
  ordered: boolean;
  expected: Expected[];
  /** Anything in the case this runner cannot interpret. */
  unsupported: string | undefined;
}

/** An expected annotation: an exact message, a pattern, or (neither) any annotation. */
export interface AnnotationExpect {
  message?: string;
  regex?: RegExp;
}

export function annotationMatches(e: AnnotationExpect, text: string): boolean {
  if (e.message !== undefined) return e.message === text;
  return e.regex === undefined || e.regex.test(text);
}

export type Command = LoadCmd | ClearCmd | EvalCmd;

export class ScriptError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** Durations like `5m`, or plain (possibly fractional) seconds. */
export function parseTime(s: string): number {
  if (/^-?\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  return parseDuration(s);
}

// No hex here: in series values `x` is the repetition operator (`0x59` is 0 repeated).
const NUM = String.raw`[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[Ii]nf|NaN|nan|stale)`;
const ITEM = new RegExp(`^(${NUM})(?:(${NUM.replace('[+-]?', '[+-]')})?x(\\d+))?$`);

function num(s: string): number | 'stale' {
  if (s === 'stale') return 'stale';
  const l = s.toLowerCase().replace(/^\+/, '');
  if (l === 'inf') return Infinity;
  if (l === '-inf') return -Infinity;
  if (l === 'nan' || l === '-nan') return NaN;
  if (/^-?0x/.test(l)) return (l.startsWith('-') ? -1 : 1) * parseInt(l.replace(/^-?0x/, ''), 16);
  return Number(l);
}

/** One step of a series: a float, a native histogram, a staleness marker, or nothing. */
export type StepValue = number | FloatHistogram | 'stale' | undefined;

/** `{{a}}`, `{{a}}xN`, `{{a}}+{{b}}xN`, `{{a}}-{{b}}xN`. */
const HISTOGRAM_ITEM = /\{\{.*?\}\}(?:x\d+|[+-]\{\{.*?\}\}x\d+)?/g;

function histogramSteps(item: string, line: number, out: StepValue[]): boolean {
  const m = /^(\{\{.*?\}\})(?:([+-])(\{\{.*?\}\}))?(?:x(\d+))?$/.exec(item);
  if (!m) throw new ScriptError(line, `bad histogram value ${JSON.stringify(item)}`);
  let first: { h: FloatHistogram; hintSet: boolean };
  let inc: FloatHistogram | undefined;
  try {
    first = parseHistogramLiteral(m[1]);
    inc = m[3] ? parseHistogramLiteral(m[3]).h : undefined;
  } catch (err) {
    throw new ScriptError(line, (err as Error).message);
  }
  const times = m[4] === undefined ? 0 : Number(m[4]);
  if (times > 1_000_000) throw new ScriptError(line, 'repetition too large');
  let h = first.h;
  out.push(h);
  for (let i = 1; i <= times; i++) {
    if (inc) h = m[2] === '+' ? addHistograms(h, inc) : subHistograms(h, inc);
    out.push(h);
  }
  return first.hintSet;
}

/** Expands `1 2 _ 3+2x4 stale _x3 {{count:1}}x2` into one entry per step. */
export function expandValues(text: string, line: number): { values: StepValue[]; native: boolean; hintSet: boolean } {
  const values: StepValue[] = [];
  const histograms: string[] = [];
  let hintSet = false;
  // Histogram literals contain spaces: each becomes one placeholder token first.
  const tokens = text
    .replace(HISTOGRAM_ITEM, (m) => ` __h${histograms.push(m) - 1} `)
    .split(/\s+/)
    .filter(Boolean);
  for (const tok of tokens) {
    const ph = /^__h(\d+)$/.exec(tok);
    if (ph) {
      hintSet = histogramSteps(histograms[Number(ph[1])], line, values) || hintSet;
      continue;
    }
    const blank = /^_(?:x(\d+))?$/.exec(tok);
    if (blank) {
      const count = blank[1] ? Number(blank[1]) : 1;
      for (let i = 0; i < count; i++) values.push(undefined);
      continue;
    }
    const m = ITEM.exec(tok);
    if (!m) throw new ScriptError(line, `bad value ${JSON.stringify(tok)}`);
    const start = num(m[1]);
    if (m[3] === undefined) {
      values.push(start);
      continue;
    }
    const times = Number(m[3]);
    if (times > 1_000_000) throw new ScriptError(line, 'repetition too large');
    const inc = m[2] ? (num(m[2]) as number) : 0;
    if (start === 'stale') {
      for (let i = 0; i <= times; i++) values.push('stale');
      continue;
    }
    let v = start;
    values.push(v);
    for (let i = 1; i <= times; i++) {
      v += inc;
      values.push(v);
    }
  }
  return { values, native: histograms.length > 0, hintSet };
}

/** Parses `name{a="b", "c"="d"}`, `{__name__="x"}`, `{"name"}`. Returns labels and the rest of the line. */
export function parseSeries(text: string, line: number): { labels: Labels; rest: string } {
  let i = 0;
  const labels: Record<string, string> = {};
  const skipWs = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  skipWs();
  const nameM = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(text.slice(i));
  if (nameM) {
    labels.__name__ = nameM[0];
    i += nameM[0].length;
  }
  const readQuoted = (): string => {
    const q = text[i];
    let j = i + 1;
    while (j < text.length && text[j] !== q) j += text[j] === '\\' && q !== '`' ? 2 : 1;
    const lit = text.slice(i, j + 1);
    i = j + 1;
    return unquote(lit);
  };
  if (text[i] === '{') {
    i++;
    for (;;) {
      skipWs();
      if (text[i] === '}') {
        i++;
        break;
      }
      let name: string;
      if (text[i] === '"' || text[i] === "'" || text[i] === '`') name = readQuoted();
      else {
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
        if (!m) throw new ScriptError(line, `bad series ${JSON.stringify(text)}`);
        name = m[0];
        i += name.length;
      }
      skipWs();
      if (text[i] === '=') {
        i++;
        skipWs();
        labels[name] = readQuoted();
      } else labels.__name__ = name;
      skipWs();
      if (text[i] === ',') i++;
      else if (text[i] !== '}') throw new ScriptError(line, `bad series ${JSON.stringify(text)}`);
    }
  } else if (!nameM) throw new ScriptError(line, `bad series ${JSON.stringify(text)}`);
  return { labels, rest: text.slice(i) };
}

const EVAL_RE = /^eval(_fail|_warn|_info|_ordered)?\s+(instant|range)\s+(.*)$/;

export function parseScript(text: string): Command[] {
  const lines = text.split('\n');
  const cmds: Command[] = [];
  let i = 0;
  const isIndented = (l: string) => /^\s+\S/.test(l);
  while (i < lines.length) {
    const raw = lines[i];
    const lineNo = i + 1;
    const l = raw.trim();
    i++;
    if (l === '' || l.startsWith('#')) continue;
    if (l === 'clear') {
      cmds.push({ kind: 'clear', line: lineNo });
      continue;
    }
    const load = /^load(_with_nhcb)?\s+(\S+)$/.exec(l);
    if (load) {
      const cmd: LoadCmd = { kind: 'load', line: lineNo, intervalMs: parseTime(load[2]), nhcb: !!load[1], series: [] };
      while (i < lines.length && isIndented(lines[i])) {
        const body = lines[i].trim();
        i++;
        if (body.startsWith('#')) continue;
        const { labels, rest } = parseSeries(body, i);
        const { values, native } = expandValues(rest, i);
        cmd.series.push({ labels, values, native });
      }
      cmds.push(cmd);
      continue;
    }
    const ev = EVAL_RE.exec(l);
    if (ev) {
      const cmd: EvalCmd = {
        kind: 'eval',
        line: lineNo,
        expr: '',
        range: undefined,
        at: 0,
        fail: ev[1] === '_fail',
        failMessage: undefined,
        failRegex: undefined,
        warn: ev[1] === '_warn',
        info: ev[1] === '_info',
        expectWarn: [],
        expectInfo: [],
        noWarn: false,
        noInfo: false,
        ordered: ev[1] === '_ordered',
        expected: [],
        unsupported: undefined,
      };
      if (ev[2] === 'instant') {
        const m = /^at\s+(\S+)\s+(.*)$/.exec(ev[3]);
        if (!m) throw new ScriptError(lineNo, 'expected "at <time> <expr>"');
        cmd.at = parseTime(m[1]);
        cmd.expr = m[2];
      } else {
        const m = /^from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.*)$/.exec(ev[3]);
        if (!m) throw new ScriptError(lineNo, 'expected "from <start> to <end> step <step> <expr>"');
        cmd.range = { start: parseTime(m[1]), end: parseTime(m[2]), step: parseTime(m[3]) };
        cmd.expr = m[4];
      }
      while (i < lines.length && isIndented(lines[i])) {
        const body = lines[i].trim();
        const bodyLine = i + 1;
        i++;
        if (body.startsWith('#')) continue;
        let m: RegExpExecArray | null;
        if ((m = /^expected_fail_message\s+(.*)$/.exec(body))) {
          cmd.fail = true;
          cmd.failMessage = m[1];
        } else if ((m = /^expected_fail_regexp\s+(.*)$/.exec(body))) {
          cmd.fail = true;
          cmd.failRegex = m[1];
        } else if ((m = /^expect\s+(\w+)(?:\s+(msg|regex):\s*(.*))?$/.exec(body))) {
          const [, what, kind, arg] = m;
          if (what === 'fail') {
            cmd.fail = true;
            if (kind === 'msg') cmd.failMessage = arg;
            if (kind === 'regex') cmd.failRegex = arg;
          } else if (what === 'warn' || what === 'info') {
            const exp: AnnotationExpect = {};
            if (kind === 'msg') exp.message = arg.trim();
            if (kind === 'regex') exp.regex = scriptRegex(arg.trim(), bodyLine);
            (what === 'warn' ? cmd.expectWarn : cmd.expectInfo).push(exp);
          } else if (what === 'no_warn') cmd.noWarn = true;
          else if (what === 'no_info') cmd.noInfo = true;
          else if (what === 'ordered') cmd.ordered = true;
          else cmd.unsupported = `expectation ${JSON.stringify(body)}`;
          if ((cmd.noWarn && cmd.expectWarn.length) || (cmd.noInfo && cmd.expectInfo.length)) {
            throw new ScriptError(bodyLine, 'invalid expect lines: warn and no_warn (or info and no_info) cannot be used together');
          }
        } else if ((m = /^expect\s+(range vector|string)\b/.exec(body))) {
          cmd.unsupported = `expectation ${JSON.stringify(body)}`;
        } else {
          cmd.expected.push(parseExpectedLine(body, bodyLine));
        }
      }
      cmds.push(cmd);
      continue;
    }
    throw new ScriptError(lineNo, `unknown command ${JSON.stringify(l)}`);
  }
  return cmds;
}

function scriptRegex(src: string, line: number): RegExp {
  try {
    return new RegExp(src);
  } catch (err) {
    throw new ScriptError(line, `invalid regex ${JSON.stringify(src)}: ${(err as Error).message}`);
  }
}

function parseExpectedLine(body: string, line: number): Expected {
  if (/^[-+]?(\d|\.\d|Inf|NaN|inf|nan)/.test(body) || body.startsWith('"')) {
    if (body.startsWith('"')) return { labels: undefined, values: [], native: false, hintSet: false, raw: body };
    return { labels: undefined, ...expandValues(body, line), raw: body };
  }
  const { labels, rest } = parseSeries(body, line);
  return { labels, ...expandValues(rest, line), raw: body };
}
