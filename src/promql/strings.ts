/**
 * PromQL string literals follow Go's quoting rules. Escapes such as `\xc5` can
 * produce bytes that are not valid UTF-8; those bytes are kept as lone
 * surrogates U+DC80..U+DCFF (the "surrogate escape" trick) so that errors can
 * print them back as `\xc5`, the way Prometheus does, and validity checks can
 * spot them.
 */
export class StringSyntaxError extends Error {}

const SIMPLE: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, "'": 39, '"': 34 };

export function unquote(lit: string): string {
  const q = lit[0];
  if (lit.length < 2 || lit[lit.length - 1] !== q) throw new StringSyntaxError('unterminated quoted string');
  const body = lit.slice(1, -1);
  if (q === '`') return body;
  if (!body.includes('\\')) {
    if (body.includes('\n')) throw new StringSyntaxError('newline in string');
    return body;
  }
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      const cp = body.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of enc.encode(String.fromCodePoint(cp))) bytes.push(b);
      continue;
    }
    const e = body[++i];
    if (e === undefined) throw new StringSyntaxError('invalid escape at end of string');
    if (e in SIMPLE) {
      if ((e === "'" && q === '"') || (e === '"' && q === "'")) throw new StringSyntaxError(`invalid escape sequence \\${e}`);
      bytes.push(SIMPLE[e]);
    } else if (e === 'x') {
      const h = body.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new StringSyntaxError('invalid \\x escape');
      bytes.push(parseInt(h, 16));
      i += 2;
    } else if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      const h = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) throw new StringSyntaxError(`invalid \\${e} escape`);
      const cp = parseInt(h, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) throw new StringSyntaxError(`invalid unicode code point \\${e}${h}`);
      for (const b of enc.encode(String.fromCodePoint(cp))) bytes.push(b);
      i += n;
    } else if (e >= '0' && e <= '7') {
      const o = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(o) || parseInt(o, 8) > 255) throw new StringSyntaxError('invalid octal escape');
      bytes.push(parseInt(o, 8));
      i += 2;
    } else {
      throw new StringSyntaxError(`unknown escape sequence \\${e}`);
    }
  }
  return decodeBytes(bytes);
}

/** UTF-8 decoding that maps each invalid byte to U+DC80+byte instead of failing. */
function decodeBytes(bytes: number[]): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    let need = 0;
    let cp = 0;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    } else if (b >= 0xc2 && b < 0xe0) [need, cp] = [1, b & 0x1f];
    else if (b >= 0xe0 && b < 0xf0) [need, cp] = [2, b & 0x0f];
    else if (b >= 0xf0 && b < 0xf5) [need, cp] = [3, b & 0x07];
    let ok = need > 0 && i + need < bytes.length;
    for (let k = 1; ok && k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    if (ok && ((need === 2 && cp < 0x800) || (need === 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp < 0xe000))) ok = false;
    if (ok) {
      out += String.fromCodePoint(cp);
      i += need + 1;
    } else {
      out += String.fromCharCode(0xdc00 + b);
      i++;
    }
  }
  return out;
}

export function isValidUtf8(s: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}
