import { resolve } from 'node:path';
import { z } from 'zod';
import { alertmanagerConfigSchema } from '../alerts/notify/config.js';
import { durationMs, optionalString } from './types.js';

/**
 * `alerting:` in vigil.yml: notification routing in Alertmanager's format, from
 * a file (`config_file`) or inline (`config`), plus what Alertmanager keeps in
 * flags (Redis for HA, forwarding to external Alertmanagers). Everything is off
 * unless configured.
 */
export const alertingSchema = z
  .object({
    /** Path to an Alertmanager-format file (alerting/alertmanager.yml). */
    config_file: optionalString,
    /** The same, inline. */
    config: alertmanagerConfigSchema.optional(),
    /** Shared state for several replicas; empty = single replica, state in the data directory. */
    redis_url: optionalString,
    redis_key_prefix: z.string().default('vigil:notify:'),
    /** External Alertmanagers the rule evaluator also sends to (POST /api/v2/alerts). */
    alertmanagers: z
      .array(
        z
          .object({
            url: z.url(),
            /** e.g. `Bearer ${AM_TOKEN}`; never logged. */
            authorization: optionalString,
            timeout: durationMs.default(10_000),
          })
          .strict(),
      )
      .default([]),
    /** Shortest time a failing send keeps retrying before waiting for the next group interval. */
    min_retry_budget: durationMs.default(10_000),
    /** How long the notification log and expired silences are kept (Alertmanager's --data.retention). */
    retention: durationMs.default(120 * 3600_000),
  })
  .strict()
  .refine((a) => !(a.config_file && a.config), { message: 'set either config_file or config, not both' });

export type AlertingConfig = z.output<typeof alertingSchema>;

/** `config_file` resolves against the directory of vigil.yml, as rule_files do. */
export function resolveAlertingPaths(a: AlertingConfig, baseDir: string): AlertingConfig {
  return a.config_file ? { ...a, config_file: resolve(baseDir, a.config_file) } : a;
}

export const alertingSections = {
  alerting: alertingSchema.optional(),
} satisfies Record<string, z.ZodType>;
