import type { Labels, Matcher } from './types.js';

/**
 * Label matching with Prometheus semantics: regexes are fully anchored, and a
 * missing label matches as the empty string.
 */
export type LabelPredicate = (value: string) => boolean;

const regexCache = new Map<string, RegExp>();
const REGEX_CACHE_LIMIT = 10_000;

/**
 * Compiles a Prometheus (RE2) regex into an anchored JS RegExp. A leading `(?i)`
 * or `(?s)` flag group, common in rules, becomes a JS flag; `.` matches newlines
 * only with `(?s)`, as in RE2.
 */
export function compilePromRegex(source: string): RegExp {
  const cached = regexCache.get(source);
  if (cached) return cached;
  let body = source;
  let flags = 'u';
  const flagGroup = /^\(\?([imsU]+)\)/.exec(body);
  if (flagGroup) {
    body = body.slice(flagGroup[0].length);
    for (const f of flagGroup[1]) {
      if (f === 'i' || f === 'm' || f === 's') flags += f;
    }
  }
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${body})$`, flags);
  } catch {
    // RE2 accepts some escapes JS's unicode mode rejects (e.g. `\-` outside classes).
    re = new RegExp(`^(?:${body})$`, flags.replace('u', ''));
  }
  if (regexCache.size >= REGEX_CACHE_LIMIT) regexCache.clear();
  regexCache.set(source, re);
  return re;
}

export function matcherPredicate(m: Matcher): LabelPredicate {
  switch (m.type) {
    case '=':
      return (v) => v === m.value;
    case '!=':
      return (v) => v !== m.value;
    case '=~': {
      const re = compilePromRegex(m.value);
      return (v) => re.test(v);
    }
    case '!~': {
      const re = compilePromRegex(m.value);
      return (v) => !re.test(v);
    }
  }
}

export function matchesAll(labels: Labels, matchers: readonly Matcher[]): boolean {
  for (const m of matchers) {
    if (!matcherPredicate(m)(labels[m.name] ?? '')) return false;
  }
  return true;
}

/** Canonical string key of a label set: names sorted, values escaped. */
export function labelsKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const n of names) key += `${n}\xff${labels[n]}\xfe`;
  return key;
}
