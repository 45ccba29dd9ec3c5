import { badParam } from './errors.js';
import { isQuote, readString } from './strings.js';

/**
 * Cheap checks on query text before the engine sees it. They exist because the
 * engine runs on the event loop: a query that recurses too deep would stall
 * every other request, and no timeout can interrupt it. (Regexes need no guard:
 * model/regex.ts matches in linear time.)
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
  for (let i = 0; i < expr.length; ) {
    const c = expr[i];
    if (isQuote(c)) {
      let tok;
      try {
        tok = readString(expr, i);
      } catch {
        return; // malformed strings are the parser's to report, with its position
      }
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
    i++;
  }
  if (maxDepth > limits.maxNesting) {
    throw badParam(param, `query nests ${maxDepth} levels of brackets deep; the limit is ${limits.maxNesting}`);
  }
}
