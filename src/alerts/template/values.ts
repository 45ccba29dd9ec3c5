/**
 * How Go values are represented while a template runs:
 * float64 -> number, int -> bigint, string, bool -> boolean, nil -> null,
 * missing map key -> undefined ("<no value>"), slices -> arrays,
 * maps -> plain objects or Map, time.Time -> GoTime, time.Duration -> GoDuration.
 */
export class GoTime {
  constructor(
    /** Unix time in nanoseconds. */
    readonly ns: bigint,
  ) {}
  static fromMs(ms: number): GoTime {
    return new GoTime(BigInt(Math.trunc(ms)) * 1_000_000n);
  }
  unixMs(): number {
    return Number(this.ns / 1_000_000n);
  }
  /** Go's time.Time.String() in UTC: `2006-01-02 15:04:05.999999999 +0000 UTC`. */
  toString(): string {
    let sec = this.ns / 1_000_000_000n;
    let frac = this.ns % 1_000_000_000n;
    if (frac < 0n) {
      frac += 1_000_000_000n;
      sec -= 1n;
    }
    const d = new Date(Number(sec) * 1000);
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    const y = d.getUTCFullYear();
    let s = `${y < 0 ? '-' + pad(-y, 4) : pad(y, 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    if (frac) s += '.' + frac.toString().padStart(9, '0').replace(/0+$/, '');
    return s + ' +0000 UTC';
  }
}

export class GoDuration {
  constructor(readonly ns: bigint) {}
  toString(): string {
    return formatGoDuration(this.ns);
  }
}

/** Go's time.Duration.String(): `1h2m3.5s`, `1.5ms`, `0s`. */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < 1_000_000_000n) {
    const [unit, div] = u < 1000n ? ['ns', 1n] : u < 1_000_000n ? ['µs', 1000n] : ['ms', 1_000_000n];
    out = fracString(u, div) + unit;
  } else {
    const h = u / 3_600_000_000_000n;
    u -= h * 3_600_000_000_000n;
    const m = u / 60_000_000_000n;
    u -= m * 60_000_000_000n;
    out = (h ? `${h}h` : '') + (h || m ? `${m}m` : '') + fracString(u, 1_000_000_000n) + 's';
  }
  return neg ? '-' + out : out;
}

function fracString(v: bigint, div: bigint): string {
  const whole = v / div;
  const frac = v % div;
  if (!frac) return String(whole);
  const digits = String(div).length - 1;
  return `${whole}.${frac.toString().padStart(digits, '0').replace(/0+$/, '')}`;
}

export type GoMap = Record<string, unknown> | Map<unknown, unknown>;

export function isMap(v: unknown): v is GoMap {
  if (v instanceof Map) return true;
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof GoTime) && !(v instanceof GoDuration);
}

/** Entries of a map in Go's iteration order for templates (sorted keys). */
export function mapEntries(m: GoMap): Array<[unknown, unknown]> {
  const entries: Array<[unknown, unknown]> = m instanceof Map ? [...m.entries()] : Object.entries(m);
  return entries.sort(([a], [b]) => compareKeys(a, b));
}

function compareKeys(a: unknown, b: unknown): number {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

export function mapGet(m: GoMap, key: unknown): unknown {
  if (m instanceof Map) return m.get(key);
  const k = String(key);
  return Object.prototype.hasOwnProperty.call(m, k) ? (m as Record<string, unknown>)[k] : undefined;
}

/** The Go type name used in error messages and `%!verb(type=value)`. */
export function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  switch (typeof v) {
    case 'number':
      return 'float64';
    case 'bigint':
      return 'int';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'function':
      return 'func';
  }
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof GoTime) return 'time.Time';
  if (v instanceof GoDuration) return 'time.Duration';
  if (v instanceof Map) return 'map[string]interface {}';
  const o = v as Record<string, unknown>;
  if (typeof o.__goType === 'string') return o.__goType;
  const vals = Object.values(o);
  if (vals.length && vals.every((x) => typeof x === 'string')) return 'map[string]string';
  return 'map[string]interface {}';
}

/** Go's notion of truth for if/with/and/or/not. */
export function truth(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number':
      return v !== 0;
    case 'bigint':
      return v !== 0n;
    case 'string':
      return v.length > 0;
    case 'function':
      return true;
  }
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  if (v instanceof GoTime || v instanceof GoDuration) return true;
  if (isStruct(v)) return true;
  return Object.keys(v as object).length > 0;
}

/** Objects marked as Go structs: missing fields are errors rather than "<no value>". */
export function isStruct(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>).__goType === 'string';
}
