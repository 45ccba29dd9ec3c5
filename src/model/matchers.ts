import type { Labels } from './labels.js';
import { compileMatcherRegex } from './regex.js';

export type MatchType = '=' | '!=' | '=~' | '!~';

/** A PromQL label matcher; Alertmanager's matchers (alerts/notify) have the same shape. */
export interface Matcher {
  readonly type: MatchType;
  readonly name: string;
  readonly value: string;
}

/**
 * Label matching with Prometheus semantics: regexes are fully anchored, and a
 * missing label matches as the empty string.
 */
export type LabelPredicate = (value: string) => boolean;

export function matcherPredicate(m: Matcher): LabelPredicate {
  switch (m.type) {
    case '=':
      return (v) => v === m.value;
    case '!=':
      return (v) => v !== m.value;
    case '=~': {
      const re = compileMatcherRegex(m.value);
      return (v) => re.test(v);
    }
    case '!~': {
      const re = compileMatcherRegex(m.value);
      return (v) => !re.test(v);
    }
  }
}

export function matchesAll(labels: Labels, matchers: readonly Matcher[]): boolean {
  for (const m of matchers) {
    if (!matcherPredicate(m)(labels[m.name] ?? '')) return false;
  }
  return true;
}
