/**
 * Tokenizer for Go's text/template syntax (text outside `{{ }}`, actions inside),
 * following the token kinds of Go's text/template/parse/lex.go so that the
 * parser can mirror Go's grammar and error messages.
 */
export type TokenKind =
  | 'text'
  | 'left'
  | 'right'
  | 'space'
  | 'identifier'
  | 'keyword'
  | 'field'
  | 'variable'
  | 'dot'
  | 'string'
  | 'rawString'
  | 'char'
  | 'number'
  | 'bool'
  | 'nil'
  | 'pipe'
  | 'leftParen'
  | 'rightParen'
  | 'declare'
  | 'assign'
  | 'comma'
  | 'eof'
  | 'error';

export interface Token {
  kind: TokenKind;
  value: string;
  pos: number;
  line: number;
}

const KEYWORDS = new Set(['block', 'break', 'continue', 'define', 'else', 'end', 'if', 'range', 'template', 'with']);

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string) => /[\p{L}\p{Nd}_]/u.test(c);

/** Splits the whole template into tokens; an `error` token ends the stream. */
export function lex(input: string): Token[] {
  const out: Token[] = [];
  let pos = 0;
  const line = 1;
  const newlines: number[] = [];
  for (let i = input.indexOf('\n'); i >= 0; i = input.indexOf('\n', i + 1)) newlines.push(i);
  const lineAt = (p: number) => {
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (newlines[mid] < p) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  const emit = (kind: TokenKind, value: string, at: number) => {
    out.push({ kind, value, pos: at, line: lineAt(at) });
  };
  const fail = (msg: string, at: number) => {
    out.push({ kind: 'error', value: msg, pos: at, line: lineAt(at) });
  };

  while (pos < input.length) {
    const open = input.indexOf('{{', pos);
    if (open < 0) {
      emit('text', input.slice(pos), pos);
      pos = input.length;
      break;
    }
    let text = input.slice(pos, open);
    let after = open + 2;
    // `{{- ` trims the whitespace before the action.
    const trimLeft = input[after] === '-' && isSpace(input[after + 1] ?? '');
    if (trimLeft) text = text.replace(/[ \t\r\n]+$/, '');
    if (text) emit('text', text, pos);
    if (trimLeft) after += 2;
    // Comments: {{/* ... */}}
    if (input.startsWith('/*', after)) {
      const endC = input.indexOf('*/', after);
      if (endC < 0) {
        fail('unclosed comment', open);
        return out;
      }
      let p = endC + 2;
      let trimRight = false;
      if (input.startsWith(' -}}', p)) {
        trimRight = true;
        p += 4;
      } else if (input.startsWith('}}', p)) p += 2;
      else {
        fail('comment ends before closing delimiter', open);
        return out;
      }
      pos = p;
      if (trimRight) while (pos < input.length && isSpace(input[pos])) pos++;
      continue;
    }
    emit('left', '{{', open);
    pos = after;
    let parenDepth = 0;
    // Inside an action.
    for (;;) {
      if (pos >= input.length) {
        fail('unclosed action', open);
        return out;
      }
      const c = input[pos];
      if (input.startsWith(' -}}', pos) || input.startsWith('\t-}}', pos) || input.startsWith('\n-}}', pos)) {
        if (parenDepth) {
          fail('unclosed left paren', pos);
          return out;
        }
        emit('right', '}}', pos + 1);
        pos += 4;
        while (pos < input.length && isSpace(input[pos])) pos++;
        break;
      }
      if (input.startsWith('}}', pos)) {
        if (parenDepth) {
          fail('unclosed left paren', pos);
          return out;
        }
        emit('right', '}}', pos);
        pos += 2;
        break;
      }
      if (isSpace(c)) {
        const s = pos;
        while (pos < input.length && isSpace(input[pos]) && !input.startsWith(' -}}', pos)) pos++;
        emit('space', input.slice(s, pos), s);
        continue;
      }
      if (c === '=') {
        emit('assign', '=', pos++);
        continue;
      }
      if (c === ':') {
        if (input[pos + 1] !== '=') {
          fail('expected :=', pos);
          return out;
        }
        emit('declare', ':=', pos);
        pos += 2;
        continue;
      }
      if (c === '|') {
        emit('pipe', '|', pos++);
        continue;
      }
      if (c === ',') {
        emit('comma', ',', pos++);
        continue;
      }
      if (c === '(') {
        parenDepth++;
        emit('leftParen', '(', pos++);
        continue;
      }
      if (c === ')') {
        parenDepth--;
        if (parenDepth < 0) {
          fail(`unexpected right paren`, pos);
          return out;
        }
        emit('rightParen', ')', pos++);
        continue;
      }
      if (c === '"') {
        const s = pos++;
        while (pos < input.length && input[pos] !== '"') {
          if (input[pos] === '\\') pos++;
          if (input[pos] === '\n') {
            fail('unterminated quoted string', s);
            return out;
          }
          pos++;
        }
        if (pos >= input.length) {
          fail('unterminated quoted string', s);
          return out;
        }
        pos++;
        emit('string', input.slice(s, pos), s);
        continue;
      }
      if (c === '`') {
        const s = pos;
        const e = input.indexOf('`', pos + 1);
        if (e < 0) {
          fail('unterminated raw quoted string', s);
          return out;
        }
        pos = e + 1;
        emit('rawString', input.slice(s, pos), s);
        continue;
      }
      if (c === "'") {
        const s = pos++;
        while (pos < input.length && input[pos] !== "'") {
          if (input[pos] === '\\') pos++;
          pos++;
        }
        if (pos >= input.length) {
          fail('unterminated character constant', s);
          return out;
        }
        pos++;
        emit('char', input.slice(s, pos), s);
        continue;
      }
      if (c === '$') {
        const s = pos++;
        while (pos < input.length && isAlnum(input[pos])) pos++;
        emit('variable', input.slice(s, pos), s);
        continue;
      }
      if (c === '.') {
        const next = input[pos + 1] ?? '';
        if (/[0-9]/.test(next)) {
          pos = lexNumber(input, pos, emit, fail);
          if (pos < 0) return out;
          continue;
        }
        const s = pos++;
        while (pos < input.length && isAlnum(input[pos])) pos++;
        emit(pos - s === 1 ? 'dot' : 'field', input.slice(s, pos), s);
        continue;
      }
      if (/[0-9+-]/.test(c)) {
        pos = lexNumber(input, pos, emit, fail);
        if (pos < 0) return out;
        continue;
      }
      if (isAlnum(c)) {
        const s = pos;
        while (pos < input.length && isAlnum(input[pos])) pos++;
        const word = input.slice(s, pos);
        if (KEYWORDS.has(word)) emit('keyword', word, s);
        else if (word === 'true' || word === 'false') emit('bool', word, s);
        else if (word === 'nil') emit('nil', word, s);
        else emit('identifier', word, s);
        continue;
      }
      fail(`unrecognized character in action: ${JSON.stringify(c)}`, pos);
      return out;
    }
  }
  out.push({ kind: 'eof', value: '', pos, line });
  return out;
}

function lexNumber(
  input: string,
  start: number,
  emit: (k: TokenKind, v: string, at: number) => void,
  fail: (m: string, at: number) => void,
): number {
  const m = /^[+-]?(0[xX][0-9a-fA-F_]+(\.[0-9a-fA-F_]*)?([pP][+-]?\d+)?|0[bB][01_]+|0[oO][0-7_]+|(\d[\d_]*)?\.?[\d_]*([eE][+-]?\d+)?)i?/.exec(
    input.slice(start),
  );
  const text = m ? m[0] : '';
  const next = input[start + text.length] ?? '';
  if (!text || text === '+' || text === '-' || isAlnum(next)) {
    fail(`bad number syntax: ${JSON.stringify(input.slice(start, start + text.length + 1))}`, start);
    return -1;
  }
  emit('number', text, start);
  return start + text.length;
}
