/**
 * Alertmanager label matchers: `name="value"`, `name!="v"`, `name=~"re"`,
 * `name!~"re"`, optionally inside `{...}` and comma-separated. A missing label
 * matches as the empty string, and regexes are anchored, as in Alertmanager.
 */
import type { Matcher as LabelMatcher, MatchType } from '../../model/matchers.js';
import { compileRegex, type Regex } from '../../model/regex.js';

export type { MatchType };

export interface Matcher extends LabelMatcher {
  /** Compiled, anchored; only for =~ and !~. */
  readonly re?: Regex;
}

export type LabelSet = Readonly<Record<string, string>>;

export function newMatcher(name: string, type: MatchType, value: string): Matcher {
  // An invalid regex throws Go's message, as Alertmanager's labels.NewMatcher does.
  if (type === '=~' || type === '!~') return { name, type, value, re: compileRegex(value) };
  return { name, type, value };
}

export function matches(m: Matcher, labels: LabelSet): boolean {
  const v = labels[m.name] ?? '';
  switch (m.type) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return m.re!.test(v);
    case '!~':
      return !m.re!.test(v);
  }
}

export function matchesAll(ms: readonly Matcher[], labels: LabelSet): boolean {
  for (const m of ms) if (!matches(m, labels)) return false;
  return true;
}

const MATCHER_RE = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*([\s\S]*?)\s*$/;

/** Parses one matcher, e.g. `severity=~"crit.*"` or unquoted `team=db`. */
export function parseMatcher(text: string): Matcher {
  if (text.length > 10_000) throw new Error('matcher too long');
  const m = MATCHER_RE.exec(text);
  if (!m) throw new Error(`bad matcher format: ${text}`);
  let value = m[3];
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = unquote(value.slice(1, -1), text);
  else if (value.startsWith('"') || (value.endsWith('"') && !value.endsWith('\\"'))) throw new Error(`bad matcher format: ${text}`);
  return newMatcher(m[1], m[2] as MatchType, value);
}

function unquote(s: string, whole: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      const n = s[++i];
      if (n === 'n') out += '\n';
      else if (n === 't') out += '\t';
      else if (n === '\\' || n === '"') out += n;
      else throw new Error(`invalid escape in matcher: ${whole}`);
    } else if (c === '"') throw new Error(`unescaped quote in matcher: ${whole}`);
    else out += c;
  }
  return out;
}

/** Parses `{a="b", c=~"d"}` or `a="b",c=~"d"`; commas inside quotes are kept. */
export function parseMatchers(text: string): Matcher[] {
  let s = text.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  const parts: string[] = [];
  let cur = '';
  let inQuote = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && inQuote) {
      cur += c + (s[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') inQuote = !inQuote;
    if (c === ',' && !inQuote) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur.trim()) parts.push(cur);
  return parts.filter((p) => p.trim() !== '').map(parseMatcher);
}

function quote(v: string): string {
  return JSON.stringify(v);
}

export function matcherString(m: Matcher): string {
  return `${m.name}${m.type}${quote(m.value)}`;
}

const TYPE_ORDER: Record<MatchType, number> = { '=': 0, '!=': 1, '=~': 2, '!~': 3 };

/** Sorted the way Alertmanager sorts a route's matchers (name, value, type). */
export function sortMatchers(ms: Matcher[]): Matcher[] {
  return [...ms].sort((a, b) =>
    a.name !== b.name ? (a.name < b.name ? -1 : 1) : a.value !== b.value ? (a.value < b.value ? -1 : 1) : TYPE_ORDER[a.type] - TYPE_ORDER[b.type],
  );
}

export function matchersString(ms: readonly Matcher[]): string {
  return `{${ms.map(matcherString).join(',')}}`;
}

/** Alertmanager's label-set fingerprint: FNV-1a 64 over sorted name/value pairs, 0xff-separated. */
export function fingerprint(labels: LabelSet): string {
  // 64-bit FNV-1a in two 32-bit halves: BigInt per byte is ten times slower.
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  const step = (b: number) => {
    lo = (lo ^ b) >>> 0;
    // multiply by the FNV prime 0x100000001b3 = 2^40 + 0x1b3
    const loMul = lo * 0x1b3;
    const carry = Math.floor(loMul / 0x100000000);
    const newLo = loMul >>> 0;
    hi = (hi * 0x1b3 + carry + ((lo << 8) >>> 0)) >>> 0;
    lo = newLo;
  };
  const enc = new TextEncoder();
  for (const n of Object.keys(labels).sort()) {
    for (const b of enc.encode(n)) step(b);
    step(0xff);
    for (const b of enc.encode(labels[n])) step(b);
    step(0xff);
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/** `{a="b", c="d"}` as Alertmanager prints a label set (sorted, comma-space). */
export function labelSetString(labels: LabelSet): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${quote(labels[k])}`)
    .join(', ')}}`;
}
