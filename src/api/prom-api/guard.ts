import { ApiError, badParam } from './errors.js';
import { isQuote, readString } from './strings.js';

/**
 * Cheap checks on query text before the engine sees it. They exist because the
 * engine runs on the event loop: a query that recurses too deep or a regex that
 * backtracks exponentially in JavaScript's regex engine (Prometheus uses RE2,
 * which cannot) would stall every other request, and no timeout can interrupt it.
 */
export interface GuardLimits {
  maxQueryLength: number;
  maxNesting: number;
}

export function guardQuery(expr: string, limits: GuardLimits, param = 'query'): void {
  if (expr.length > limits.maxQueryLength) {
    throw badParam(param, `query is ${expr.length} characters long; the limit is ${limits.maxQueryLength}`);
  }
  let depth = 0;
  let maxDepth = 0;
  let prevOp = '';
  const regexes: string[] = [];
  const literals: string[] = [];
  for (let i = 0; i < expr.length; ) {
    const c = expr[i];
    if (isQuote(c)) {
      let tok;
      try {
        tok = readString(expr, i);
      } catch {
        return; // malformed strings are the parser's to report, with its position
      }
      if (prevOp === '=~' || prevOp === '!~') regexes.push(tok.value);
      literals.push(tok.value);
      prevOp = '';
      i = tok.end;
      continue;
    }
    if (c === '#') {
      const nl = expr.indexOf('\n', i);
      i = nl < 0 ? expr.length : nl + 1;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') {
      depth++;
      if (depth > maxDepth) maxDepth = depth;
    } else if (c === ')' || c === ']' || c === '}') depth--;
    if (!/\s/.test(c)) {
      const two = expr.slice(i, i + 2);
      if (two === '=~' || two === '!~') {
        prevOp = two;
        i += 2;
        continue;
      }
      prevOp = '';
    }
    i++;
  }
  if (maxDepth > limits.maxNesting) {
    throw badParam(param, `query nests ${maxDepth} levels of brackets deep; the limit is ${limits.maxNesting}`);
  }
  // label_replace takes its regex as a plain string argument.
  if (/\blabel_replace\s*\(/.test(expr)) regexes.push(...literals);
  for (const re of regexes) checkRegex(re, param);
}

export function checkRegex(re: string, param = 'query'): void {
  const problem = regexHazard(re);
  if (problem) {
    throw new ApiError(
      'bad_data',
      `invalid parameter "${param}": regular expression ${JSON.stringify(re.length > 80 ? re.slice(0, 80) + '…' : re)} ${problem}; ` +
        'such patterns can take exponential time in this engine, rewrite it without a repeated group that itself repeats or alternates',
    );
  }
}

interface Group {
  /** Contains an unbounded repetition or overlapping alternation. */
  repeats: boolean;
  alternation: boolean;
  branchStarts: Array<string | null>;
  branchStart: boolean;
}

/**
 * Returns why a regex (RE2 syntax) risks catastrophic backtracking, or
 * undefined. Flags a repeated group that contains a repetition (`(a+)+`) or an
 * alternation whose branches may match the same text (`(a|ab)*`, `(.|x)+`).
 */
export function regexHazard(src: string): string | undefined {
  const stack: Group[] = [{ repeats: false, alternation: false, branchStarts: [], branchStart: true }];
  let i = 0;
  const top = () => stack[stack.length - 1];
  // Reads a quantifier at i; returns [length, repeats-more-than-once].
  const quantifier = (at: number): [number, boolean] => {
    const c = src[at];
    if (c === '*' || c === '+') return [src[at + 1] === '?' ? 2 : 1, true];
    if (c === '?') return [src[at + 1] === '?' ? 2 : 1, false];
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}\??/.exec(src.slice(at, at + 24));
      if (m) {
        const max = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]);
        return [m[0].length, max > 1];
      }
    }
    return [0, false];
  };
  const noteAtom = (literal: string | null) => {
    const g = top();
    if (g.branchStart) {
      g.branchStarts.push(literal);
      g.branchStart = false;
    }
  };
  while (i < src.length) {
    const c = src[i];
    if (c === '(') {
      noteAtom(null);
      stack.push({ repeats: false, alternation: false, branchStarts: [], branchStart: true });
      // Skip group flags and names: (?:  (?i)  (?P<name>
      if (src[i + 1] === '?') {
        const m = /^\(\?(P?<[^>]*>|[a-zA-Z-]*:?|[a-zA-Z-]*\))/.exec(src.slice(i));
        if (m && m[0].endsWith(')')) {
          stack.pop();
          i += m[0].length;
          continue;
        }
        i += m ? m[0].length : 2;
      } else i++;
      continue;
    }
    if (c === '|') {
      top().alternation = true;
      top().branchStart = true;
      i++;
      continue;
    }
    if (c === ')') {
      if (stack.length === 1) return undefined; // unbalanced: the regex compiler reports it
      const g = stack.pop()!;
      if (g.branchStart) g.branchStarts.push(''); // empty branch
      const [qlen, many] = quantifier(i + 1);
      const overlapping = g.alternation && !disjoint(g.branchStarts);
      if (many && g.repeats) return 'repeats a group that itself contains a repetition';
      if (many && overlapping) return 'repeats an alternation whose branches can match the same text';
      if (many || g.repeats || overlapping) top().repeats = true;
      i += 1 + qlen;
      continue;
    }
    let atomEnd = i + 1;
    let literal: string | null = null;
    if (c === '\\') {
      const e = src[i + 1];
      if ((e === 'p' || e === 'P' || e === 'x') && src[i + 2] === '{') atomEnd = src.indexOf('}', i) + 1 || src.length;
      else atomEnd = i + 2 + (e === 'p' || e === 'P' ? 1 : e === 'x' ? 2 : 0);
      literal = /[a-zA-Z0-9]/.test(e ?? '') ? null : (e ?? null);
    } else if (c === '[') {
      let j = i + 1;
      if (src[j] === '^') j++;
      if (src[j] === ']') j++;
      while (j < src.length && src[j] !== ']') {
        if (src[j] === '\\') j++;
        else if (src[j] === '[' && src[j + 1] === ':') {
          const close = src.indexOf(':]', j + 2);
          if (close > 0) j = close + 1;
        }
        j++;
      }
      atomEnd = j + 1;
    } else if (c !== '.' && c !== '^' && c !== '$') literal = c;
    noteAtom(literal);
    const [qlen, many] = quantifier(atomEnd);
    if (many) top().repeats = true;
    i = atomEnd + qlen;
  }
  return undefined;
}

/** Branches that each start with a distinct literal character cannot match the same text. */
function disjoint(starts: Array<string | null>): boolean {
  const seen = new Set<string>();
  for (const s of starts) {
    if (s === null || s === '' || seen.has(s)) return false;
    seen.add(s);
  }
  return true;
}
