/**
 * Silences with Alertmanager's semantics: matchers (equal/regex, positive or
 * negative), a time window, states pending/active/expired, expiry by setting
 * endsAt to now, and garbage collection after the retention period.
 */
import { randomUUID } from 'node:crypto';
import { matches, matchesAll, newMatcher, type LabelSet, type Matcher } from './matchers.js';
import { compileUnanchoredRegex } from '../../model/regex.js';
import { goQuote } from '../../model/strconv.js';

export interface SilenceMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

export interface Silence {
  id: string;
  matchers: SilenceMatcher[];
  startsAt: number;
  endsAt: number;
  updatedAt: number;
  createdBy: string;
  comment: string;
}

export type SilenceState = 'pending' | 'active' | 'expired';

export function silenceState(s: Silence, now: number): SilenceState {
  if (s.endsAt <= now) return 'expired';
  if (s.startsAt > now) return 'pending';
  return 'active';
}

export function compileSilence(s: Silence): Matcher[] {
  return s.matchers.map((m) => newMatcher(m.name, m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=', m.value));
}

/** Validation as Alertmanager's API does it; returns an error message or undefined. */
export function validateSilence(s: Partial<Silence>): string | undefined {
  if (!Array.isArray(s.matchers) || s.matchers.length === 0) return 'at least one matcher required';
  if (s.matchers.length > 100) return 'too many matchers';
  let allEmpty = true;
  for (const [i, m] of s.matchers.entries()) {
    if (typeof m?.name !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(m.name)) return `invalid label name "${String(m?.name)}"`;
    if (typeof m.value !== 'string' || m.value.length > 10_000) return `invalid matcher value for "${m.name}"`;
    // Alertmanager checks the pattern unanchored here, so `a)(b` is refused although a route would take it.
    if (m.isRegex) {
      try {
        compileUnanchoredRegex(m.value);
      } catch (err) {
        return `invalid label matcher ${i}: invalid regular expression ${goQuote(m.value)}: ${(err as Error).message}`;
      }
    }
    const compiled = newMatcher(m.name, m.isRegex ? (m.isEqual === false ? '!~' : '=~') : m.isEqual === false ? '!=' : '=', m.value);
    if (!matches(compiled, {})) allEmpty = false;
  }
  if (allEmpty) return 'at least one matcher must not match the empty string';
  if (!Number.isFinite(s.startsAt) || !Number.isFinite(s.endsAt)) return 'invalid start or end time';
  if (s.endsAt! < s.startsAt!) return 'end time must not be before start time';
  if ((s.comment ?? '').length > 10_000 || (s.createdBy ?? '').length > 1_000) return 'comment or createdBy too long';
  return undefined;
}

export function newSilenceId(): string {
  return randomUUID();
}

/** The silences muting a label set at `now` (ids, sorted). */
export function silencedBy(silences: Iterable<Silence>, labels: LabelSet, now: number): string[] {
  const out: string[] = [];
  for (const s of silences) {
    if (silenceState(s, now) !== 'active') continue;
    if (matchesAll(compileSilence(s), labels)) out.push(s.id);
  }
  return out.sort();
}

/** A rejected silence operation, with the HTTP status the API answers. */
export class SilenceError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'SilenceError';
  }
}
