/** Alertmanager matchers as text ({a="b", c=~"x|y"}) to and from objects. */

export interface SilenceMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

const OPS: Array<[string, boolean, boolean]> = [
  ['=~', true, true],
  ['!~', true, false],
  ['!=', false, false],
  ['=', false, true],
];

/** Parses `{a="b", c=~"d"}` (braces and quotes optional, as amtool accepts). Throws with a message naming the bad part. */
export function parseMatchers(text: string): SilenceMatcher[] {
  let s = text.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  const out: SilenceMatcher[] = [];
  let i = 0;
  while (i < s.length) {
    while (s[i] === ' ' || s[i] === ',') i++;
    if (i >= s.length) break;
    const nameMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(s.slice(i));
    if (!nameMatch) throw new Error(`expected a label name at "${s.slice(i, i + 20)}"`);
    const name = nameMatch[0];
    i += name.length;
    while (s[i] === ' ') i++;
    const op = OPS.find(([o]) => s.startsWith(o, i));
    if (!op) throw new Error(`expected =, !=, =~ or !~ after ${name}`);
    i += op[0].length;
    while (s[i] === ' ') i++;
    let value = '';
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) {
          const c = s[i + 1];
          value += c === 'n' ? '\n' : c;
          i += 2;
        } else value += s[i++];
      }
      if (s[i] !== '"') throw new Error(`unterminated quoted value for ${name}`);
      i++;
    } else {
      const end = s.indexOf(',', i);
      value = s.slice(i, end < 0 ? s.length : end).trim();
      i = end < 0 ? s.length : end;
    }
    out.push({ name, value, isRegex: op[1], isEqual: op[2] });
  }
  return out;
}

export function matcherText(m: SilenceMatcher): string {
  const op = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

export function matchersToText(ms: SilenceMatcher[]): string {
  return `{${ms.map(matcherText).join(', ')}}`;
}
