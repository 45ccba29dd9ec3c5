/**
 * Inhibition: a firing alert matching a rule's source matchers mutes alerts
 * matching its target matchers when the `equal` labels agree. As in
 * Alertmanager, an alert matching both sides is not inhibited by itself.
 */
import type { InhibitRuleConfig } from './config.js';
import { matchesAll, newMatcher, parseMatchers, type LabelSet, type Matcher } from './matchers.js';

export interface InhibitRule {
  source: Matcher[];
  target: Matcher[];
  equal: string[];
}

function side(match?: Record<string, string>, matchRe?: Record<string, string>, matchers?: string[]): Matcher[] {
  const out: Matcher[] = [];
  for (const [k, v] of Object.entries(match ?? {})) out.push(newMatcher(k, '=', v));
  for (const [k, v] of Object.entries(matchRe ?? {})) out.push(newMatcher(k, '=~', v));
  for (const m of matchers ?? []) out.push(...parseMatchers(m));
  return out;
}

export function compileInhibitRules(rules: InhibitRuleConfig[]): InhibitRule[] {
  return rules.map((r) => ({
    source: side(r.source_match, r.source_match_re, r.source_matchers),
    target: side(r.target_match, r.target_match_re, r.target_matchers),
    equal: r.equal,
  }));
}

export interface FiringAlert {
  fingerprint: string;
  labels: LabelSet;
}

export class Inhibitor {
  constructor(private readonly rules: InhibitRule[]) {}

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** Fingerprint of an alert inhibiting `labels`, or undefined. `firing` are the currently firing alerts. */
  inhibitedBy(labels: LabelSet, fingerprint: string, firing: Iterable<FiringAlert>): string | undefined {
    if (this.rules.length === 0) return undefined;
    for (const r of this.rules) {
      if (!matchesAll(r.target, labels)) continue;
      const alsoSource = matchesAll(r.source, labels);
      for (const s of firing) {
        if (s.fingerprint === fingerprint) continue;
        if (!matchesAll(r.source, s.labels)) continue;
        // An alert that is both source and target cannot inhibit another that is also both.
        if (alsoSource && matchesAll(r.target, s.labels)) continue;
        if (r.equal.every((l) => (s.labels[l] ?? '') === (labels[l] ?? ''))) return s.fingerprint;
      }
    }
    return undefined;
  }
}
