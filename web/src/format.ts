/** Small display helpers shared by the pages. */

export function ago(iso: string | number | undefined, now = Date.now()): string {
  if (iso === undefined) return 'never';
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  if (!Number.isFinite(t) || t <= 0 || (typeof iso === 'string' && iso.startsWith('0001-'))) return 'never';
  return `${duration(now - t)} ago`;
}

export function duration(ms: number): string {
  const neg = ms < 0;
  let s = Math.abs(ms) / 1000;
  if (s < 1) return `${neg ? '-' : ''}${Math.round(s * 1000)}ms`;
  const parts: string[] = [];
  for (const [u, n] of [['d', 86400], ['h', 3600], ['m', 60]] as const) {
    if (s >= n) {
      parts.push(`${Math.floor(s / n)}${u}`);
      s %= n;
    }
  }
  if (s >= 1 || parts.length === 0) parts.push(`${Math.floor(s)}s`);
  return (neg ? '-' : '') + parts.slice(0, 2).join(' ');
}

export function seconds(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '';
  return s < 1 ? `${(s * 1000).toFixed(1)}ms` : `${s.toFixed(2)}s`;
}

/** Only http(s) and same-site relative links are made clickable; anything else (javascript:, data:) stays text. */
export function safeHref(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url, location.origin);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/** Label set as PromQL matchers text: {a="b", c="d"}. */
export function matchersText(labels: Record<string, string>, names = Object.keys(labels)): string {
  return `{${names.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(', ')}}`;
}

export function isoLocal(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
