/**
 * The parts of Go's fmt package templates reach: Sprint, Sprintln, Sprintf with
 * the common verbs, and float formatting identical to strconv's shortest 'g'
 * (so 0.1+0.2 prints as 0.30000000000000004, 1e6 as 1e+06, as in Prometheus).
 */
import { formatFloat, goQuote } from '../../model/strconv.js';
import { GoDuration, GoTime, goTypeName, isMap, isStruct, mapEntries } from './values.js';

/** Go's %v of a value as templates print it. */
export function formatValue(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return formatFloat(v, 'g', -1);
    case 'bigint':
    case 'boolean':
      return String(v);
    case 'function':
      return '0x1';
  }
  if (v instanceof GoTime || v instanceof GoDuration) return v.toString();
  if (Array.isArray(v)) return '[' + v.map(formatNested).join(' ') + ']';
  if (isStruct(v)) {
    const o = v as Record<string, unknown>;
    return '{' + Object.keys(o).filter((k) => k !== '__goType').map((k) => formatNested(o[k])).join(' ') + '}';
  }
  if (isMap(v)) return 'map[' + mapEntries(v).map(([k, x]) => `${formatNested(k)}:${formatNested(x)}`).join(' ') + ']';
  return String(v);
}

function formatNested(v: unknown): string {
  return v === undefined || v === null ? '<nil>' : formatValue(v);
}

const isStringLike = (v: unknown) => typeof v === 'string';

/** fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: unknown[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    if (i > 0 && !isStringLike(args[i]) && !isStringLike(args[i - 1])) out += ' ';
    out += formatNested(args[i]);
  }
  return out;
}

export function sprintln(args: unknown[]): string {
  return args.map(formatNested).join(' ') + '\n';
}

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}

function pad(s: string, spec: Spec, numeric: boolean): string {
  if (spec.width === undefined || s.length >= spec.width) return s;
  const fill = spec.width - s.length;
  if (spec.minus) return s + ' '.repeat(fill);
  if (spec.zero && numeric) {
    const sign = /^[+-]/.test(s) ? s[0] : '';
    return sign + '0'.repeat(fill) + s.slice(sign.length);
  }
  return ' '.repeat(fill) + s;
}

function badVerb(verb: string, v: unknown): string {
  if (v === undefined || v === null) return `%!${verb}(<nil>)`;
  return `%!${verb}(${goTypeName(v)}=${formatValue(v)})`;
}

function signed(s: string, spec: Spec): string {
  if (s.startsWith('-')) return s;
  if (spec.plus) return '+' + s;
  if (spec.space) return ' ' + s;
  return s;
}

function formatOne(verb: string, v: unknown, spec: Spec): string {
  switch (verb) {
    case 'v':
      if (typeof v === 'number') return pad(signed(formatFloat(v, 'g', spec.prec ?? -1), spec), spec, true);
      if (typeof v === 'bigint') return pad(signed(String(v), spec), spec, true);
      if (typeof v === 'string' && spec.sharp) return pad(goQuote(v), spec, false);
      return pad(formatNested(v), spec, false);
    case 's':
      if (typeof v === 'string') return pad(spec.prec !== undefined ? [...v].slice(0, spec.prec).join('') : v, spec, false);
      if (v instanceof GoTime || v instanceof GoDuration || Array.isArray(v) || isMap(v)) return pad(formatValue(v), spec, false);
      return badVerb(verb, v);
    case 'q':
      if (typeof v === 'string') return pad(spec.sharp && !v.includes('`') ? '`' + v + '`' : goQuote(v), spec, false);
      if (typeof v === 'bigint') return pad(`'${String.fromCodePoint(Number(v))}'`, spec, false);
      return badVerb(verb, v);
    case 'd':
      if (typeof v === 'bigint') {
        let s = (v < 0n ? -v : v).toString();
        if (spec.prec !== undefined) s = s.padStart(spec.prec, '0');
        return pad(signed((v < 0n ? '-' : '') + s, spec), spec, true);
      }
      if (v instanceof GoDuration) return pad(signed(String(v.ns), spec), spec, true);
      return badVerb(verb, v);
    case 'b':
    case 'o':
    case 'O':
    case 'x':
    case 'X': {
      if (typeof v === 'bigint') {
        const radix = verb === 'b' ? 2 : verb === 'o' || verb === 'O' ? 8 : 16;
        let s = (v < 0n ? -v : v).toString(radix);
        if (verb === 'X') s = s.toUpperCase();
        if (spec.sharp || verb === 'O') s = (verb === 'x' ? '0x' : verb === 'X' ? '0X' : verb === 'b' ? '0b' : '0o') + s;
        return pad(signed((v < 0n ? '-' : '') + s, spec), spec, true);
      }
      if (typeof v === 'string' && (verb === 'x' || verb === 'X')) {
        const hex = Buffer.from(v, 'utf8').toString('hex');
        return pad(verb === 'X' ? hex.toUpperCase() : hex, spec, false);
      }
      return badVerb(verb, v);
    }
    case 'c':
      if (typeof v === 'bigint') return pad(String.fromCodePoint(Number(v)), spec, false);
      return badVerb(verb, v);
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G': {
      if (typeof v !== 'number') return badVerb(verb, v);
      const f = verb === 'F' ? 'f' : (verb as 'e' | 'E' | 'f' | 'g' | 'G');
      const prec = spec.prec ?? (f === 'g' || f === 'G' ? -1 : 6);
      let s = formatFloat(v, f, prec);
      if (!Number.isFinite(v)) {
        if (Number.isNaN(v)) s = spec.plus ? '+NaN' : spec.space ? ' NaN' : 'NaN';
        else if (v > 0 && !spec.plus) s = spec.space ? ' Inf' : 'Inf';
        return pad(s, { ...spec, zero: false }, false);
      }
      return pad(signed(s, spec), spec, true);
    }
    case 't':
      if (typeof v === 'boolean') return pad(String(v), spec, false);
      return badVerb(verb, v);
    case 'T':
      return pad(goTypeName(v), spec, false);
    default:
      return badVerb(verb, v);
  }
}

/** fmt.Sprintf with Go's verbs, flags, width/precision (incl. `*`) and error forms. */
export function sprintf(format: string, args: unknown[]): string {
  let out = '';
  let argi = 0;
  let i = 0;
  while (i < format.length) {
    const c = format[i];
    if (c !== '%') {
      const next = format.indexOf('%', i);
      const end = next < 0 ? format.length : next;
      out += format.slice(i, end);
      i = end;
      continue;
    }
    i++;
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const spec: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false };
    for (; i < format.length; i++) {
      const f = format[i];
      if (f === '-') spec.minus = true;
      else if (f === '+') spec.plus = true;
      else if (f === '#') spec.sharp = true;
      else if (f === ' ') spec.space = true;
      else if (f === '0') spec.zero = !spec.minus;
      else break;
    }
    const readNum = (): number | undefined => {
      if (format[i] === '*') {
        i++;
        const a = args[argi++];
        return typeof a === 'bigint' ? Number(a) : undefined;
      }
      const m = /^\d+/.exec(format.slice(i));
      if (!m) return undefined;
      i += m[0].length;
      return Math.min(Number(m[0]), 1e6);
    };
    spec.width = readNum();
    if (format[i] === '.') {
      i++;
      spec.prec = readNum() ?? 0;
    }
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = format[i++];
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatOne(verb, args[argi++], spec);
  }
  if (argi < args.length) {
    out += '%!(EXTRA ' + args.slice(argi).map((a) => (a === null || a === undefined ? '<nil>' : `${goTypeName(a)}=${formatValue(a)}`)).join(', ') + ')';
  }
  return out;
}
