/**
 * Go's strconv for the forms Prometheus and Alertmanager print and read:
 * FormatFloat, ParseFloat and Quote. Anything that must print or read numbers
 * and strings byte-for-byte like them uses these, and only these.
 */

interface Digits {
  neg: boolean;
  /** Significant decimal digits without leading/trailing zeros ('' for zero). */
  d: string;
  /** Decimal point position: value = 0.d * 10^dp. */
  dp: number;
}

/**
 * JS rounds exact ties away from zero; Go (strconv) rounds them to even. Ties
 * are rare but real for values like 2.25, so they are detected on the exact
 * decimal expansion and fixed up.
 */
function halfEven(rounded: string, exact: string, keep: number, step: (s: string) => string): string {
  const tail = exact.slice(keep).replace('.', '');
  if (!/^50*$/.test(tail)) return rounded;
  const kept = exact.slice(0, keep);
  const lastDigit = Number(kept.replace(/\D/g, '').slice(-1) || '0');
  return lastDigit % 2 === 0 ? kept : step(kept);
}

function toExp(a: number, frac: number): string {
  const r = a.toExponential(frac);
  if (frac >= 100) return r;
  const exact = a.toExponential(100);
  const [em, ee] = exact.split('e');
  const [rm, re] = r.split('e');
  if (ee !== re) return r;
  const fixed = halfEven(rm, em, frac === 0 ? 1 : frac + 2, () => rm);
  return fixed + 'e' + re;
}

function toFixedGo(a: number, prec: number): string {
  const r = a.toFixed(prec);
  if (prec >= 80) return r;
  const exact = a.toFixed(Math.min(100, prec + 30));
  const keep = exact.indexOf('.') + (prec === 0 ? 0 : prec + 1);
  return halfEven(r, exact.replace(/\.$/, ''), prec === 0 ? exact.indexOf('.') : keep, () => r);
}

function decimalDigits(x: number, sig?: number): Digits {
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  if (a === 0) return { neg, d: '', dp: 0 };
  const s = sig === undefined ? a.toExponential() : toExp(a, Math.max(0, Math.min(sig - 1, 100)));
  const [mant, exp] = s.split('e');
  const d = mant.replace('.', '').replace(/0+$/, '');
  return { neg, d, dp: Number(exp) + 1 };
}

function fmtE(dg: Digits, prec: number, e: string): string {
  let s = dg.d[0] ?? '0';
  if (prec > 0) {
    s += '.';
    for (let i = 1; i <= prec; i++) s += dg.d[i] ?? '0';
  }
  const exp = dg.d === '' ? 0 : dg.dp - 1;
  const ae = Math.abs(exp);
  return s + e + (exp < 0 ? '-' : '+') + (ae < 10 ? '0' + ae : String(ae));
}

function fmtF(dg: Digits, prec: number): string {
  let s = '';
  if (dg.dp > 0) {
    for (let i = 0; i < dg.dp; i++) s += dg.d[i] ?? '0';
  } else s = '0';
  if (prec > 0) {
    s += '.';
    for (let i = 0; i < prec; i++) {
      const j = dg.dp + i;
      s += j < 0 || j >= dg.d.length ? '0' : dg.d[j];
    }
  }
  return s;
}

export type FloatFormat = 'e' | 'E' | 'f' | 'g' | 'G';

/**
 * strconv.FormatFloat(x, fmt, prec, 64); prec -1 means the shortest digits that
 * read back as x. The default, ('f', -1), is how Prometheus writes sample
 * values and label values (count_values): never an exponent, and -0 stays "-0".
 */
export function formatFloat(x: number, fmt: FloatFormat = 'f', prec = -1): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const shortest = prec < 0;
  let dg: Digits;
  let body: string;
  if (fmt === 'f') {
    if (shortest) {
      // Hot path (query results): JS already prints most values the Go way.
      const s = String(x);
      if (s.indexOf('e') < 0 && !Object.is(x, -0)) return s;
      dg = decimalDigits(x);
      body = fmtF(dg, Math.max(dg.d.length - dg.dp, 0));
    } else {
      dg = decimalDigits(x);
      const abs = Math.abs(x);
      body = abs < 1e21 ? toFixedGo(abs, Math.min(prec, 100)) : fmtF(dg, prec);
    }
    return (dg.neg ? '-' : '') + body;
  }
  if (fmt === 'e' || fmt === 'E') {
    dg = shortest ? decimalDigits(x) : decimalDigits(x, prec + 1);
    return (dg.neg ? '-' : '') + fmtE(dg, shortest ? Math.max(dg.d.length - 1, 0) : prec, fmt);
  }
  // %g: exponent form when exp < -4 || exp >= precision (6 when shortest).
  let p = prec;
  if (p === 0) p = 1;
  dg = shortest ? decimalDigits(x) : decimalDigits(x, p);
  if (shortest) p = dg.d.length;
  let eprec = p;
  if (eprec > dg.d.length && dg.d.length >= dg.dp) eprec = dg.d.length;
  if (shortest) eprec = 6;
  const exp = dg.dp - 1;
  const e = fmt === 'G' ? 'E' : 'e';
  if (exp < -4 || exp >= eprec) {
    if (p > dg.d.length) p = dg.d.length;
    body = fmtE(dg, Math.max(p - 1, 0), e);
  } else {
    if (p > dg.dp) p = dg.d.length;
    body = fmtF(dg, Math.max(p - dg.dp, 0));
  }
  return (dg.neg ? '-' : '') + body;
}


const DEC = String.raw`\d(?:_?\d)*`;
const DECIMAL_FLOAT = new RegExp(`^[+-]?(?:${DEC}(?:\\.(?:${DEC})?)?|\\.${DEC})(?:[eE][+-]?${DEC})?$`);
const HEX = String.raw`[0-9a-fA-F](?:_?[0-9a-fA-F])*`;
const HEX_FLOAT = new RegExp(`^([+-]?)0[xX]_?(${HEX})?(?:\\.(${HEX})?)?[pP]([+-]?${DEC})$`);
const INF = /^([+-]?)inf(?:inity)?$/i;

export class ParseFloatError extends Error {}

/**
 * strconv.ParseFloat(s, 64): decimal and hexadecimal (with a `p` exponent)
 * literals, `_` between digits, `inf`/`infinity` with a sign, `nan` without.
 * Throws Go's error text; a value beyond float64 is "value out of range".
 */
export function parseGoFloat(s: string): number {
  const fail = (why: string) => new ParseFloatError(`strconv.ParseFloat: parsing ${goQuote(s)}: ${why}`);
  const inf = INF.exec(s);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  let v: number;
  if (DECIMAL_FLOAT.test(s)) v = Number(s.replace(/_/g, ''));
  else {
    const hex = HEX_FLOAT.exec(s);
    if (!hex || (hex[2] === undefined && hex[3] === undefined)) throw fail('invalid syntax');
    const int = (hex[2] ?? '').replace(/_/g, '');
    const frac = (hex[3] ?? '').replace(/_/g, '');
    const mant = Number.parseInt(int + frac || '0', 16);
    v = mant * 2 ** (Number(hex[4].replace(/_/g, '')) - 4 * frac.length);
    if (hex[1] === '-') v = -v;
  }
  if (!Number.isFinite(v)) throw fail('value out of range');
  return v;
}

/** parseGoFloat, or undefined where Go returns an error (e.g. a malformed `le` label is skipped). */
export function tryParseGoFloat(s: string): number | undefined {
  try {
    return parseGoFloat(s);
  } catch {
    return undefined;
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\t': '\\t',
  '\r': '\\r',
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\v': '\\v',
};
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/**
 * strconv.Quote: Go-syntax double-quoted string, non-printable runes escaped.
 * Bytes that are not valid UTF-8 travel in JS strings as lone surrogates
 * U+DC80..U+DCFF (see promql/strings.ts) and print back as `\xNN`, as Go does.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const simple = SIMPLE_ESCAPES[ch];
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x80 ? cp >= 0x20 && cp !== 0x7f : PRINTABLE.test(ch)) out += ch;
    else if (cp < 0x80 || (cp >= 0xdc80 && cp <= 0xdcff)) out += '\\x' + (cp & 0xff).toString(16).padStart(2, '0');
    else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + '"';
}
