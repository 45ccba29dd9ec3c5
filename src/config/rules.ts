import { z } from 'zod';

/**
 * `rule_files`: paths or globs of Prometheus rule files, relative to vigil.yml.
 * Evaluation interval and external labels come from `global`.
 */
export const rulesSections = {
  rule_files: z.array(z.string().min(1, 'must not be empty')).max(10_000).default([]),
  /** SLO files (Sloth `prometheus/v1` format), paths or globs; their rules are generated at start-up and reload. */
  slo_files: z.array(z.string().min(1, 'must not be empty')).max(10_000).default([]),
} satisfies Record<string, z.ZodType>;
