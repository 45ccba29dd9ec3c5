import { z } from 'zod';
import { lazyRequire } from '../util/lazy-require.js';
import { durationMs, optionalString } from './types.js';

// Loaded by the first job in a config: most configs have none.
const cron = lazyRequire<typeof import('node-cron')>('node-cron');

/**
 * `jobs:` scheduled operations, keyed by job name. Each job has a cron schedule
 * (5 or 6 fields, node-cron syntax), an optional IANA time zone, and one kind
 * with its own settings.
 */
const cronExpression = z.string().superRefine((expr, ctx) => {
  const r = cron().validateDetailed(expr);
  if (!r.valid) {
    ctx.addIssue({ code: 'custom', message: `invalid cron expression "${expr}": ${r.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}` });
  }
});

const timeZone = z.string().superRefine((tz, ctx) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    ctx.addIssue({ code: 'custom', message: `unknown time zone "${tz}"` });
  }
});

const common = {
  schedule: cronExpression,
  timezone: timeZone.default('UTC'),
  /** Run once at start-up when a scheduled run was missed while Vigil was down. */
  catch_up: z.boolean().default(false),
  /** Abort a run that takes longer than this. */
  timeout: durationMs.default(3600_000),
  enabled: z.boolean().default(true),
};

export const pgBackupSchema = z
  .object({
    ...common,
    type: z.literal('pg_backup'),
    /** libpq connection URL of the database to dump (from ${ENV}: it holds a password). */
    database_url: z.string().min(1),
    directory: z.string().default('backups'),
    prefix: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only').default('sical_backup'),
    retention: durationMs.default(30 * 24 * 3600_000),
    /** Restore into a scratch database and compare table row counts. */
    verify_restore: z.boolean().default(false),
    /** Where the scratch database is created: a URL to a maintenance database on the restore server. */
    restore_admin_url: optionalString,
    pg_dump_path: z.string().default('pg_dump'),
    psql_path: z.string().default('psql'),
  })
  .strict();

export const retentionSchema = z
  .object({
    ...common,
    type: z.literal('retention'),
    /** Files older than max_age matching the pattern are deleted; the newest file always stays. */
    paths: z
      .array(
        z
          .object({
            directory: z.string(),
            pattern: z.string().default('*'),
            max_age: durationMs,
          })
          .strict(),
      )
      .default([]),
    /** Elasticsearch indices (not data streams) older than max_age are deleted. */
    elasticsearch: z
      .object({
        url: z.string().url(),
        api_key: optionalString,
        index_pattern: z.string().default('sical-logs-*'),
        max_age: durationMs.default(30 * 24 * 3600_000),
      })
      .strict()
      .optional(),
  })
  .strict();

export const digestSchema = z
  .object({
    ...common,
    type: z.literal('digest'),
    window: durationMs.default(24 * 3600_000),
    /**
     * The notification receiver (alerting config) the digest goes to: its
     * Slack, email and webhook integrations, with their retries and secrets.
     */
    receiver: z.string().min(1, 'name a receiver of the alerting config'),
  })
  .strict();

export const jobSchema = z.discriminatedUnion('type', [pgBackupSchema, retentionSchema, digestSchema]);
export type JobConfig = z.output<typeof jobSchema>;
export type PgBackupConfig = z.output<typeof pgBackupSchema>;
export type RetentionConfig = z.output<typeof retentionSchema>;
export type DigestConfig = z.output<typeof digestSchema>;

export const jobsSections = {
  jobs: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_-]*$/, 'job names: letters, digits, _ and -'), jobSchema).default({}),
};
