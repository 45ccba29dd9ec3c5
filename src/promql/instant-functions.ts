/** Element-wise functions on instant vectors (value in, value out); all drop `__name__`. */
export const MATH_FUNCTIONS: Record<string, (v: number) => number> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sgn: (v) => (v > 0 ? 1 : v < 0 ? -1 : v),
  deg: (v) => (v * 180) / Math.PI,
  rad: (v) => (v * Math.PI) / 180,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
};

function utc(v: number): Date {
  return new Date(Math.trunc(v) * 1000);
}

/** Calendar functions on Unix seconds, in UTC. */
export const DATE_FUNCTIONS: Record<string, (v: number) => number> = {
  day_of_month: (v) => utc(v).getUTCDate(),
  day_of_week: (v) => utc(v).getUTCDay(),
  day_of_year: (v) => {
    const d = utc(v);
    return Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000) + 1;
  },
  days_in_month: (v) => {
    const d = utc(v);
    return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  },
  hour: (v) => utc(v).getUTCHours(),
  minute: (v) => utc(v).getUTCMinutes(),
  month: (v) => utc(v).getUTCMonth() + 1,
  year: (v) => utc(v).getUTCFullYear(),
};

/** Natural ("version") order of strings, for sort_by_label. */
export function naturalLess(a: string, b: string): number {
  const re = /(\d+|\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = BigInt(x);
      const ny = BigInt(y);
      if (nx !== ny) return nx < ny ? -1 : 1;
      return x.length < y.length ? -1 : 1;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}
