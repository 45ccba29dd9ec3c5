import type { Labels } from '../../tsdb/types.js';
import { parseDuration } from '../../model/duration.js';
import { unquote } from '../strings.js';

/**
 * Parser for Prometheus's PromQL test-script format (see the FORMAT.md beside
 * the shared conformance files): load blocks, evals and their expectations.
 */

export interface SeriesValues {
  labels: Labels;
  /** One entry per interval step; undefined = no sample. `stale` = staleness marker. */
  values: Array<number | 'stale' | undefined>;
  /** The line held native-histogram values (out of scope). */
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
  values: Array<number | 'stale' | undefined>;
  native: boolean;
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
  warn: boolean | undefined;
  info: boolean | undefined;
  ordered: boolean;
  expected: Expected[];
  /** Anything in the case this runner cannot interpret. */
  unsupported: string | undefined;
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

/** Expands `1 2 _ 3+2x4 stale _x3` into one entry per step. */
export function expandValues(text: string, line: number): { values: Array<number | 'stale' | undefined>; native: boolean } {
  const values: Array<number | 'stale' | undefined> = [];
  let native = false;
  // Native histogram literals contain spaces; they are skipped as a whole.
  const tokens = text.replace(/\{\{.*?\}\}(x\d+|[+-]\{\{.*?\}\}x\d+)?/g, (m) => {
    native = true;
    return ` __native${m.match(/x(\d+)$/)?.[0] ?? ''} `;
  }).split(/\s+/).filter(Boolean);
  for (const tok of tokens) {
    if (tok.startsWith('__native')) {
      const n = tok.match(/x(\d+)$/);
      const count = n ? Number(n[1]) + 1 : 1;
      for (let i = 0; i < count; i++) values.push(undefined);
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
  return { values, native };
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
        warn: ev[1] === '_warn' ? true : undefined,
        info: ev[1] === '_info' ? true : undefined,
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
          } else if (what === 'warn') cmd.warn = true;
          else if (what === 'info') cmd.info = true;
          else if (what === 'no_warn') cmd.warn = false;
          else if (what === 'no_info') cmd.info = false;
          else if (what === 'ordered') cmd.ordered = true;
          else cmd.unsupported = `expectation ${JSON.stringify(body)}`;
          // Message checks on warnings/infos are not compared; the presence is.
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

function parseExpectedLine(body: string, line: number): Expected {
  if (/^[-+]?(\d|\.\d|Inf|NaN|inf|nan)/.test(body) || body.startsWith('"')) {
    if (body.startsWith('"')) return { labels: undefined, values: [], native: false, raw: body };
    const { values, native } = expandValues(body, line);
    return { labels: undefined, values, native, raw: body };
  }
  const { labels, rest } = parseSeries(body, line);
  const { values, native } = expandValues(rest, line);
  return { labels, values, native, raw: body };
}
