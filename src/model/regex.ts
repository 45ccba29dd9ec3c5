/**
 * The one place user-supplied regular expressions are compiled.
 */
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
