/** Go text/template's predefined functions (and/or are handled lazily in exec). */
import { formatValue, sprint, sprintf, sprintln } from './fmt.js';
import type { FuncMap } from './exec.js';
import { htmlEscape } from '../../model/html.js';
import { GoDuration, GoTime, goTypeName, isMap, mapGet, truth } from './values.js';

type Kind = 'bool' | 'int' | 'float' | 'string' | 'nil' | 'other';

function kindOf(v: unknown): Kind {
  if (v === null || v === undefined) return 'nil';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'int';
    case 'number':
      return 'float';
    case 'string':
      return 'string';
  }
  return 'other';
}

function eq(a: unknown, ...rest: unknown[]): boolean {
  if (rest.length === 0) throw new Error('missing argument for comparison');
  const k1 = kindOf(a);
  for (const b of rest) {
    const k2 = kindOf(b);
    if (k1 !== k2) {
      if (k1 === 'nil' || k2 === 'nil') continue;
      throw new Error('incompatible types for comparison');
    }
    if (k1 === 'other') {
      if (a instanceof GoTime && b instanceof GoTime) {
        if (a.ns === b.ns) return true;
        continue;
      }
      if (Array.isArray(a) || isMap(a)) throw new Error(`non-comparable type ${formatValue(a)}: ${goTypeName(a)}`);
      if (a === b) return true;
      continue;
    }
    if (a === b) return true;
  }
  return false;
}

function lt(a: unknown, b: unknown): boolean {
  const k1 = kindOf(a);
  const k2 = kindOf(b);
  if (k1 === 'bool' || k1 === 'other' || k1 === 'nil' || k2 === 'bool' || k2 === 'other' || k2 === 'nil') throw new Error('invalid type for comparison');
  if (k1 !== k2) throw new Error('incompatible types for comparison');
  return (a as number) < (b as number);
}

function length(v: unknown): bigint {
  if (typeof v === 'string') return BigInt(Buffer.byteLength(v, 'utf8'));
  if (Array.isArray(v)) return BigInt(v.length);
  if (v instanceof Map) return BigInt(v.size);
  if (isMap(v)) return BigInt(Object.keys(v).length);
  throw new Error(`len of type ${goTypeName(v)}`);
}

function index(item: unknown, ...indexes: unknown[]): unknown {
  let v = item;
  for (const ix of indexes) {
    if (v === null || v === undefined) throw new Error('index of untyped nil');
    if (Array.isArray(v) || typeof v === 'string') {
      if (typeof ix !== 'bigint') throw new Error(`cannot index slice/array with type ${goTypeName(ix)}`);
      const len = typeof v === 'string' ? Buffer.byteLength(v) : v.length;
      if (ix < 0n || ix >= BigInt(len)) throw new Error(`index out of range: ${ix}`);
      v = typeof v === 'string' ? BigInt(Buffer.from(v)[Number(ix)]) : v[Number(ix)];
    } else if (isMap(v)) {
      const got = mapGet(v, ix);
      // A missing key yields the map's zero value; label maps hold strings.
      v = got === undefined ? '' : got;
    } else throw new Error(`can't index item of type ${goTypeName(v)}`);
  }
  return v;
}

function slice(item: unknown, ...ix: unknown[]): unknown {
  const nums = ix.map((i) => {
    if (typeof i !== 'bigint') throw new Error(`cannot index slice/array with type ${goTypeName(i)}`);
    return Number(i);
  });
  if (typeof item === 'string' || Array.isArray(item)) {
    const len = item.length;
    const [a = 0, b = len] = nums;
    if (a < 0 || b > len || a > b) throw new Error(`index out of range: ${a}:${b}`);
    return item.slice(a, b);
  }
  throw new Error(`can't slice item of type ${goTypeName(item)}`);
}

function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (ch === '"') out += '\\"';
    else if (ch === '<') out += '\\u003C';
    else if (ch === '>') out += '\\u003E';
    else if (ch === '&') out += '\\u0026';
    else if (ch === '=') out += '\\u003D';
    else if (cp < 0x20) out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
    else out += ch;
  }
  return out;
}

/** url.QueryEscape. */
export function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function evalArgs(args: unknown[]): string {
  return args.length === 1 && typeof args[0] === 'string' ? args[0] : sprint(args);
}

export const goBuiltins: FuncMap = {
  and: () => undefined,
  or: () => undefined,
  not: (v: unknown) => !truth(v),
  len: length,
  index,
  slice,
  print: (...a: unknown[]) => sprint(a),
  println: (...a: unknown[]) => sprintln(a),
  printf: (f: unknown, ...a: unknown[]) => {
    if (typeof f !== 'string') throw new Error(`wrong type for value; expected string; got ${goTypeName(f)}`);
    return sprintf(f, a);
  },
  html: (...a: unknown[]) => htmlEscape(evalArgs(a)),
  js: (...a: unknown[]) => jsEscape(evalArgs(a)),
  urlquery: (...a: unknown[]) => queryEscape(evalArgs(a)),
  eq,
  ne: (a: unknown, b: unknown) => !eq(a, b),
  lt,
  le: (a: unknown, b: unknown) => lt(a, b) || eq(a, b),
  gt: (a: unknown, b: unknown) => !lt(a, b) && !eq(a, b),
  ge: (a: unknown, b: unknown) => !lt(a, b),
  call: (fn: unknown, ...a: unknown[]) => {
    if (typeof fn !== 'function') throw new Error(`non-function of type ${goTypeName(fn)}`);
    return (fn as (...x: unknown[]) => unknown)(...a);
  },
};

export { GoDuration, GoTime };
