/**
 * The one place user-supplied regular expressions are compiled (PromQL
 * matchers, relabelling, silences, inhibition and route matchers, template
 * functions). Patterns have Go's RE2 syntax and semantics and run in time
 * linear in the input, whatever the pattern: a backtracking engine would let
 * one silence such as `(a+)+b` stall the process that sends the pages.
 *
 * Accept/reject decisions and error texts are those of Go 1.19's regexp
 * package, which Prometheus 2.42 and Alertmanager 0.25 are built with.
 */
import type { RE2JS } from 're2js';
import { lazyRequire } from '../util/lazy-require.js';

export class RegexSyntaxError extends Error {
  constructor(
    readonly pattern: string,
    message: string,
  ) {
    super(message);
    this.name = 'RegexSyntaxError';
  }
}

/** A successful match: index 0 is the whole match, then the capture groups ("" when a group took no part). */
export interface RegexMatch {
  readonly [group: number]: string | undefined;
  readonly length: number;
  readonly groups?: Readonly<Record<string, string | undefined>>;
}

export interface Regex {
  readonly source: string;
  /** Whether the pattern matches (the whole input for anchored regexes). */
  test(input: string): boolean;
  /** The match and its groups, or null. */
  exec(input: string): RegexMatch | null;
}

const cache = new Map<string, Regex>();
const CACHE_LIMIT = 10_000;

/**
 * Compiles a pattern anchored at both ends, as Prometheus and Alertmanager do
 * (`^(?:pattern)$`), for label matchers and relabelling. Throws
 * RegexSyntaxError with Go's message, e.g.
 * "error parsing regexp: invalid or unsupported Perl syntax: `(?=`".
 */
export function compileRegex(pattern: string): Regex {
  const key = `^${pattern}`;
  let re = cache.get(key);
  if (!re) {
    re = fastRegex(pattern) ?? re2(pattern, `^(?:${pattern})$`);
    remember(key, re);
  }
  return re;
}

/**
 * compileRegex for PromQL label matchers: Prometheus's matcher also parses the
 * pattern unwrapped, so there `a)(b` is refused ("unexpected )") although
 * relabelling and Alertmanager accept it.
 */
export function compileMatcherRegex(pattern: string): Regex {
  const re = compileRegex(pattern);
  if (pattern.includes(')')) compileUnanchoredRegex(pattern);
  return re;
}

/** Compiles a pattern that matches anywhere in the input, as Go's regexp.MatchString (template functions). */
export function compileUnanchoredRegex(pattern: string): Regex {
  const key = `~${pattern}`;
  let re = cache.get(key);
  if (!re) {
    re = re2(pattern, pattern);
    remember(key, re);
  }
  return re;
}

/** Go's Regexp.ReplaceAllString: `$1`, `${1}`, `$name`, `${name}`, `$$` in the replacement. */
export function replaceAll(re: Regex, input: string, replacement: string): string {
  const compiled = re2Of(re);
  const m = compiled.matcher(input);
  let out = '';
  let lastEnd = 0;
  let search = 0;
  // Go's loop: an empty match right after a match is not replaced, and the
  // search always advances by at least one character.
  while (search <= input.length && m.find(search)) {
    const start = m.start();
    const end = m.end();
    out += input.slice(lastEnd, start);
    if (end > lastEnd || start === 0) out += expandTemplate(replacement, groupsOf(m, compiled));
    lastEnd = end;
    const width = search < input.length ? ((input.codePointAt(search) ?? 0) > 0xffff ? 2 : 1) : 1;
    search = search + width > end ? search + width : end;
  }
  return out + input.slice(lastEnd);
}

/** Go's regexp.Expand: `$1`, `${1}`, `$name`, `${name}`, `$$`; unknown groups expand to "". */
export function expandTemplate(template: string, m: RegexMatch): string {
  if (template.indexOf('$') < 0) return template;
  return template.replace(/\$(\$|\{(\w+)\}|(\w+))/g, (_all, x: string, braced: string | undefined, bare: string | undefined) => {
    if (x === '$') return '$';
    const name = braced ?? bare ?? '';
    if (/^\d+$/.test(name)) return m[Number(name)] ?? '';
    return m.groups?.[name] ?? '';
  });
}

function remember(key: string, re: Regex): void {
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, re);
}

// RE2 is loaded by the first regex the fast path cannot take.
const re2js = lazyRequire<typeof import('re2js')>('re2js');

const RE2_OF = new WeakMap<Regex, RE2JS>();

function re2Of(re: Regex): RE2JS {
  const compiled = RE2_OF.get(re);
  if (compiled) return compiled;
  // Fast-path regexes have no groups; an unanchored RE2 twin serves replaceAll.
  return compileRe2(re.source, re.source);
}

type Re2Matcher = ReturnType<RE2JS['matcher']>;

function groupsOf(m: Re2Matcher, re: RE2JS): RegexMatch {
  const out: Array<string | undefined> = [];
  for (let i = 0; i <= re.groupCount(); i++) out.push(m.group(i) ?? '');
  const names = re.namedGroups() as Record<string, number>;
  const keys = Object.keys(names);
  if (keys.length === 0) return out;
  const groups: Record<string, string | undefined> = {};
  for (const k of keys) groups[k] = out[names[k]];
  return Object.assign(out, { groups });
}

function re2(pattern: string, wrapped: string): Regex {
  const anchored = wrapped !== pattern;
  const compiled = compileRe2(pattern, wrapped);
  const re: Regex = {
    source: pattern,
    test: (input) => (anchored ? compiled.matches(input) : compiled.test(input)),
    exec: (input) => {
      const m = compiled.matcher(input);
      return m.find() ? groupsOf(m, compiled) : null;
    },
  };
  RE2_OF.set(re, compiled);
  return re;
}

function compileRe2(pattern: string, wrapped: string): RE2JS {
  let compiled: RE2JS;
  try {
    compiled = re2js().RE2JS.compile(uniqueGroupNames(wrapped));
  } catch (err) {
    throw new RegexSyntaxError(pattern, go119Message((err as Error).message));
  }
  // Go 1.19 knows only `(?P<name>`; `(?<name>` arrived in Go 1.22.
  if (groupOpenings(wrapped).some((i) => wrapped.startsWith('(?<', i))) {
    throw new RegexSyntaxError(pattern, 'error parsing regexp: invalid or unsupported Perl syntax: `(?<`');
  }
  return compiled;
}

/** Lookbehind `(?<=` / `(?<!` fail in Go 1.19 as an unknown group flag, not as a bad group name. */
function go119Message(message: string): string {
  return message.replace(/invalid named capture: `\(\?<(?!P).*`$/s, 'invalid or unsupported Perl syntax: `(?<`');
}

/**
 * Go 1.19 accepts a group name used twice (the first group wins in
 * expansions); the RE2 library refuses it, so later duplicates are renamed to
 * names no expansion can reach.
 */
function uniqueGroupNames(pattern: string): string {
  if (!pattern.includes('(?P<')) return pattern;
  const seen = new Set<string>();
  let out = '';
  let last = 0;
  for (const i of groupOpenings(pattern)) {
    const m = /^\(\?P<(\w+)>/.exec(pattern.slice(i, i + 200));
    if (!m) continue;
    if (seen.has(m[1])) {
      out += pattern.slice(last, i) + `(?P<${m[1]}_dup${i}>`;
      last = i + m[0].length;
    }
    seen.add(m[1]);
  }
  return out + pattern.slice(last);
}

/** Offsets of the `(` that open groups: not escaped, not inside a class or `\Q...\E`. */
function groupOpenings(p: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      if (p[i + 1] === 'Q') {
        const end = p.indexOf('\\E', i + 2);
        i = end < 0 ? p.length : end + 1;
      } else i++;
    } else if (c === '[') {
      i = classEnd(p, i);
    } else if (c === '(') out.push(i);
  }
  return out;
}

/** Index of the `]` closing the class opened at `start` (a `]` first in the class is literal). */
function classEnd(p: string, start: number): number {
  let i = start + 1;
  if (p[i] === '^') i++;
  if (p[i] === ']') i++;
  for (; i < p.length; i++) {
    if (p[i] === '\\') i++;
    else if (p[i] === '[' && p[i + 1] === ':') {
      const end = p.indexOf(':]', i + 2);
      if (end >= 0) i = end + 1;
    } else if (p[i] === ']') return i;
  }
  return p.length;
}

/**
 * V8's engine is several times faster than the RE2 library, and for a narrow
 * class of patterns it is provably equivalent and linear: alternatives of
 * literals, `.` and simple classes, with at most one quantifier per
 * alternative (anchored, so one quantifier can only be retried O(n) times).
 * `.` becomes `[^\n]` (RE2's dot excludes only newline), literals are
 * re-escaped, and the `u` flag makes both engines step by code point.
 * Anything else returns undefined and goes to RE2.
 */
export function fastRegex(pattern: string): Regex | undefined {
  if (pattern.length > 1000) return undefined;
  let js = '';
  let quantifiers = 0;
  let atoms = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '|') {
      js += '|';
      quantifiers = 0;
      atoms = 0;
    } else if (c === '*' || c === '+' || c === '?') {
      // A quantifier needs an atom, and a second one (or `a**`) could backtrack.
      if (atoms === 0 || quantifiers > 0 || pattern[i - 1] === '*' || pattern[i - 1] === '+' || pattern[i - 1] === '?') return undefined;
      quantifiers++;
      js += c;
    } else if (c === '.') {
      js += '[^\\n]';
      atoms++;
    } else if (c === '[') {
      const end = simpleClassEnd(pattern, i);
      if (end < 0) return undefined;
      js += pattern.slice(i, end + 1);
      i = end;
      atoms++;
    } else if (c === '\\') {
      const n = pattern[i + 1];
      if (n === undefined || !/[!-/:-@[-`{-~]/.test(n)) return undefined;
      js += escapeLiteral(n);
      i++;
      atoms++;
    } else if ('()[]{}^$'.includes(c)) {
      return undefined;
    } else {
      const cp = pattern.codePointAt(i) ?? 0;
      if (cp >= 0xd800 && cp <= 0xdfff) return undefined;
      const ch = String.fromCodePoint(cp);
      js += escapeLiteral(ch);
      i += ch.length - 1;
      atoms++;
    }
  }
  const v8 = new RegExp(`^(?:${js})$`, 'u');
  const re: Regex = {
    source: pattern,
    test: (input) => v8.test(input),
    exec: (input) => (v8.test(input) ? [input] : null),
  };
  return re;
}

/** End of a class holding only ASCII letters, digits, `_` and ranges of them, or -1. */
function simpleClassEnd(p: string, start: number): number {
  const m = /^\[\^?(?:[A-Za-z0-9_](?:-[A-Za-z0-9_])?)+\]/.exec(p.slice(start, start + 200));
  if (!m) return -1;
  // A backwards range such as [z-a] is an error RE2 must report.
  for (const r of m[0].matchAll(/([A-Za-z0-9_])-([A-Za-z0-9_])/g)) if (r[1] > r[2]) return -1;
  return start + m[0].length - 1;
}

function escapeLiteral(ch: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch;
}
