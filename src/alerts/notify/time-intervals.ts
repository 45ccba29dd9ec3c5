/**
 * Alertmanager time intervals (`time_intervals`, `mute_time_intervals`): an
 * instant is inside an interval when every given field (times, weekdays,
 * days_of_month, months, years) contains it, evaluated in `location` (UTC default).
 */
import type { TimeIntervalConfig } from './config.js';

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

interface Parts {
  year: number;
  month: number; // 1..12
  day: number;
  weekday: number; // 0 = Sunday
  minute: number; // minutes since midnight
  daysInMonth: number;
}

function partsIn(date: Date, location: string | undefined): Parts {
  const tz = !location || location === 'Local' ? 'UTC' : location;
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    weekday: 'long',
    hour: 'numeric',
    minute: 'numeric',
  });
  const p: Record<string, string> = {};
  for (const x of f.formatToParts(date)) p[x.type] = x.value;
  const year = Number(p.year);
  const month = Number(p.month);
  return {
    year,
    month,
    day: Number(p.day),
    weekday: WEEKDAYS.indexOf(p.weekday.toLowerCase()),
    minute: Number(p.hour) * 60 + Number(p.minute),
    daysInMonth: new Date(Date.UTC(year, month, 0)).getUTCDate(),
  };
}

function parseRange(s: string, parseOne: (x: string) => number): [number, number] {
  const i = s.indexOf(':', s.startsWith('-') ? 1 : 0);
  if (i < 0) {
    const v = parseOne(s);
    return [v, v];
  }
  return [parseOne(s.slice(0, i)), parseOne(s.slice(i + 1))];
}

function named(names: string[], numberOffset = 1) {
  return (x: string): number => {
    const t = x.trim().toLowerCase();
    const i = names.indexOf(t);
    if (i >= 0) return i;
    if (/^\d+$/.test(t)) return Number(t) - numberOffset;
    throw new Error(`unknown name "${x}"`);
  };
}

function inRanges(list: string[] | undefined, value: number, parseOne: (x: string) => number): boolean {
  if (!list || list.length === 0) return true;
  return list.some((s) => {
    const [a, b] = parseRange(s, parseOne);
    return value >= a && value <= b;
  });
}

function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
}

export function inTimeInterval(ti: TimeIntervalConfig, at: Date): boolean {
  const p = partsIn(at, ti.location);
  if (ti.times?.length && !ti.times.some((t) => p.minute >= toMinutes(t.start_time) && p.minute < toMinutes(t.end_time))) return false;
  if (!inRanges(ti.weekdays, p.weekday, named(WEEKDAYS, 0))) return false;
  if (
    ti.days_of_month?.length &&
    !ti.days_of_month.some((s) => {
      let [a, b] = parseRange(s, Number);
      if (a < 0) a = p.daysInMonth + a + 1;
      if (b < 0) b = p.daysInMonth + b + 1;
      return p.day >= a && p.day <= b;
    })
  )
    return false;
  if (!inRanges(ti.months, p.month - 1, named(MONTHS))) return false;
  if (!inRanges(ti.years, p.year, Number)) return false;
  return true;
}

/** Throws on a malformed interval (checked when the config loads). */
export function validateTimeInterval(ti: TimeIntervalConfig): void {
  if (ti.location && ti.location !== 'Local') new Intl.DateTimeFormat('en-US', { timeZone: ti.location });
  for (const w of ti.weekdays ?? []) parseRange(w, named(WEEKDAYS));
  for (const m of ti.months ?? []) parseRange(m, named(MONTHS));
  for (const d of ti.days_of_month ?? []) {
    const [a, b] = parseRange(d, Number);
    if (!Number.isInteger(a) || !Number.isInteger(b) || a === 0 || b === 0 || Math.abs(a) > 31 || Math.abs(b) > 31) throw new Error(`invalid days_of_month "${d}"`);
  }
  for (const y of ti.years ?? []) {
    const [a, b] = parseRange(y, Number);
    if (!Number.isInteger(a) || !Number.isInteger(b)) throw new Error(`invalid year "${y}"`);
  }
}

export class TimeIntervals {
  private readonly byName = new Map<string, TimeIntervalConfig[]>();
  constructor(lists: { name: string; time_intervals: TimeIntervalConfig[] }[]) {
    for (const l of lists) this.byName.set(l.name, l.time_intervals);
  }
  /** True when `at` is inside any of the named intervals. */
  contains(names: readonly string[], at: Date): boolean {
    return names.some((n) => (this.byName.get(n) ?? []).some((ti) => inTimeInterval(ti, at)));
  }
}
