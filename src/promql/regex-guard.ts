import { compilePromRegex } from '../model/regex.js';

/**
 * JavaScript regexes backtrack, unlike Go's RE2, so a matcher such as
 * `{a=~"(a+)+b"}` can take exponential time on a long label value and stall
 * the whole process. We refuse the shapes that cause catastrophic
 * backtracking: a repeated group (`(...)*`, `(...)+`, `(...){n,}`) whose body
 * itself contains a repetition or an alternation. Everything else RE2 accepts
 * and JavaScript can compile is allowed. Returns an error message or undefined.
 */
export function checkRegex(source: string): string | undefined {
  if (source.length > 4096) return 'regex too long (limit 4096 characters)';
  try {
    compilePromRegex(source);
  } catch (err) {
    return `error parsing regexp: ${(err as Error).message}`;
  }
  // Stack of open groups: whether each has seen a quantifier or alternation inside.
  const stack: boolean[] = [];
  let risky = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') {
      // Skip a character class; `]` right after `[` or `[^` is literal.
      let j = i + 1;
      if (source[j] === '^') j++;
      if (source[j] === ']') j++;
      while (j < source.length && source[j] !== ']') j += source[j] === '\\' ? 2 : 1;
      i = j;
      continue;
    }
    if (c === '(') {
      stack.push(false);
      continue;
    }
    if (c === ')') {
      const inner = stack.pop() ?? false;
      const next = source[i + 1];
      const repeated = next === '*' || next === '+' || (next === '{' && /^\{\d*,\d*\}|^\{\d+\}/.test(source.slice(i + 1)) && isUnboundedBrace(source.slice(i + 1)));
      if (repeated && inner) risky = true;
      // The group counts as a quantified element for the enclosing group.
      if (stack.length && (inner || repeated)) stack[stack.length - 1] = true;
      continue;
    }
    if (c === '*' || c === '+' || c === '|' || (c === '{' && /^\{\d*,\d*\}/.test(source.slice(i)))) {
      if (stack.length) stack[stack.length - 1] = true;
    }
  }
  if (risky) {
    return `regex ${JSON.stringify(source)} repeats a group that itself contains a repetition or alternation; such patterns can backtrack exponentially and are not supported`;
  }
  return undefined;
}

function isUnboundedBrace(s: string): boolean {
  const m = /^\{(\d*)(,?)(\d*)\}/.exec(s);
  if (!m) return false;
  // {n} and {n,m} with small m are bounded, but large bounds behave like `*`.
  if (m[2] === '') return Number(m[1]) > 16;
  return m[3] === '' || Number(m[3]) > 16;
}
