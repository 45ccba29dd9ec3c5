/**
 * PromQL string literals: "…" and '…' with Go escapes, `…` raw. Used by the
 * series-selector parser and the query guard, which both scan text the engine
 * has not parsed yet.
 */
export interface StringToken {
  value: string;
  /** Index just past the closing quote. */
  end: number;
}

/** A malformed literal; `offset` is where in the text the problem is. */
export class StringError extends SyntaxError {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const SIMPLE: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };

/** Reads the literal starting at `src[pos]` (a quote). Throws with the offset on malformed input. */
export function readString(src: string, pos: number): StringToken {
  const quote = src[pos];
  let i = pos + 1;
  if (quote === '`') {
    const close = src.indexOf('`', i);
    if (close < 0) throw new StringError(`unterminated raw string`, pos);
    return { value: src.slice(i, close), end: close + 1 };
  }
  let out = '';
  while (i < src.length) {
    const c = src[i];
    if (c === quote) return { value: out, end: i + 1 };
    if (c === '\n') break;
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = src[i + 1];
    if (e === undefined) break;
    if (e in SIMPLE) {
      if ((e === '"' || e === "'") && e !== quote) throw new StringError(`unknown escape sequence \\${e}`, i);
      out += SIMPLE[e];
      i += 2;
      continue;
    }
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLen) {
      const hex = src.slice(i + 2, i + 2 + hexLen);
      if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(hex)) throw new StringError(`invalid escape sequence`, i);
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) throw new StringError(`escape sequence is an invalid Unicode code point`, i);
      out += String.fromCodePoint(code);
      i += 2 + hexLen;
      continue;
    }
    if (/[0-7]/.test(e)) {
      const oct = src.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) throw new StringError(`invalid octal escape`, i);
      out += String.fromCharCode(parseInt(oct, 8));
      i += 4;
      continue;
    }
    throw new StringError(`unknown escape sequence \\${e}`, i);
  }
  throw new StringError(`unterminated quoted string`, pos);
}

export function isQuote(c: string | undefined): boolean {
  return c === '"' || c === "'" || c === '`';
}
