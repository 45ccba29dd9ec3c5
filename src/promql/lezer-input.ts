/**
 * The lezer PromQL grammar lags behind Prometheus's own parser in a few
 * places. These rewrites bridge the gaps before lezer sees the input; each
 * keeps the length and every position, so the parser reads names and error
 * positions from the original text.
 */

/** String literals masked out, so rewrites never touch their contents. */
function maskStrings(input: string): string {
  return input.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, (s) => '\0'.repeat(s.length));
}

/** Go's lexer accepts `1.` and `5./6.`; lezer does not. A trailing dot after digits becomes a space. */
function trailingDots(input: string, masked: string): string {
  if (!/\d\./.test(input)) return input;
  let out = input;
  const re = /(?<![A-Za-z_:\d.])(\d+)\.(?![\dA-Za-z_])/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(masked))) {
    const dot = m.index + m[1].length;
    out = out.slice(0, dot) + ' ' + out.slice(dot + 1);
  }
  return out;
}

/** Index just past the parenthesis matching the one at `open` (or the end). */
function closeParen(masked: string, open: number): number {
  let depth = 0;
  for (let i = open; i < masked.length; i++) {
    if (masked[i] === '(') depth++;
    else if (masked[i] === ')' && --depth === 0) return i + 1;
  }
  return masked.length;
}

/**
 * Spans where lezer expects a duration expression: inside `[...]` and the
 * term after `offset` (a signed literal, a call such as `min_of(...)`, or a
 * parenthesised expression).
 */
function durationSpans(masked: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  let open = -1;
  for (let i = 0; i < masked.length; i++) {
    if (masked[i] === '[') open = i;
    else if (masked[i] === ']' && open >= 0) {
      spans.push([open, i]);
      open = -1;
    }
  }
  const offset = /\boffset\b\s*[-+]?\s*/gi;
  let m: RegExpExecArray | null;
  while ((m = offset.exec(masked))) {
    const at = m.index + m[0].length;
    const call = /^[A-Za-z_]\w*\s*\(/.exec(masked.slice(at));
    const paren = call ? at + call[0].length - 1 : masked[at] === '(' ? at : -1;
    if (paren >= 0) spans.push([at, closeParen(masked, paren)]);
  }
  return spans;
}

/**
 * `step()`, `range()`, `min_of()` and `max_of()` are case-insensitive keywords
 * for Prometheus but lower-case only for lezer; and lezer knows `min_of` and
 * `max_of` only inside durations, so elsewhere (`min_of(1, 2)`, a scalar
 * function) they are handed to lezer as `vector`, a name of the same length.
 */
function durationKeywords(input: string, masked: string): string {
  const re = /\b(step|range|min_of|max_of)(?=\s*\()/gi;
  if (!re.test(masked)) return input;
  re.lastIndex = 0;
  const spans = durationSpans(masked);
  let out = input;
  let m: RegExpExecArray | null;
  while ((m = re.exec(masked))) {
    const word = m[1].toLowerCase();
    const inDuration = spans.some(([a, b]) => m!.index >= a && m!.index < b);
    const replacement = !inDuration && (word === 'min_of' || word === 'max_of') ? 'vector' : word;
    out = out.slice(0, m.index) + replacement + out.slice(m.index + word.length);
  }
  return out;
}

export function lezerInput(input: string): string {
  const masked = maskStrings(input);
  return durationKeywords(trailingDots(input, masked), masked);
}
