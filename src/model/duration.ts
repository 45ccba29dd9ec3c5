/**
 * Prometheus duration strings: one or more `<number><unit>` parts, largest unit
 * first, units y w d h m s ms (`1h30m`, `15s`, `500ms`). Returns milliseconds.
 */
const UNIT_MS: Record<string, number> = {
  y: 365 * 24 * 3600_000,
  w: 7 * 24 * 3600_000,
  d: 24 * 3600_000,
  h: 3600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};
const UNIT_ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
const PART = /(\d+)(ms|y|w|d|h|m|s)/y;

export function parseDuration(text: string): number {
  if (text === '0') return 0;
  if (text === '') throw new Error('empty duration string');
  let pos = 0;
  let total = 0;
  let lastUnit = -1;
  PART.lastIndex = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (!m) throw new Error(`not a valid duration string: "${text}"`);
    const unit = UNIT_ORDER.indexOf(m[2]);
    if (unit <= lastUnit) throw new Error(`not a valid duration string: "${text}" (units must be largest first, each once)`);
    lastUnit = unit;
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = PART.lastIndex;
  }
  if (!Number.isSafeInteger(total)) throw new Error(`duration out of range: "${text}"`);
  return total;
}

/** Formats milliseconds the way Prometheus prints durations (`1h30m`, `15s`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of UNIT_ORDER) {
    const size = UNIT_MS[unit];
    if (rest >= size) {
      const n = Math.floor(rest / size);
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
