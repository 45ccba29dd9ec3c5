import { z } from 'zod';
import { byteSize, durationMs, optionalString } from './types.js';

/** One tailed file: JSON lines in the planning API's layout (seed-notes §6). */
export const logFileSchema = z
  .object({
    path: z.string().min(1),
    /** service.name for lines that do not carry one. */
    service: z.string().default('sical-backend'),
    /** Where to begin a file seen for the first time. */
    start_at: z.enum(['beginning', 'end']).default('beginning'),
  })
  .strict();

export const elasticsearchSchema = z
  .object({
    /** One or more node URLs. */
    urls: z.array(z.string().url()).min(1),
    username: optionalString,
    password: optionalString,
    api_key: optionalString,
    /** Data stream the events are created in (`logs-<dataset>-<namespace>`). */
    data_stream: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase data stream name').default('logs-sical-default'),
    /** Index receiving mapping rejections with their reason. */
    dead_letter_index: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase index name').default('vigil-dead-letter'),
    /** Install the index template and ILM policy on start (403 only warns). */
    setup: z.boolean().default(true),
    /** ILM delete phase: the documented 30-day retention. */
    retention: durationMs.default(30 * 24 * 3600_000),
    bulk_max_events: z.number().int().min(1).max(100_000).default(2000),
    bulk_max_bytes: byteSize.default(5 * 1024 * 1024),
    request_timeout: durationMs.default(30_000),
    backoff_initial: durationMs.default(250),
    backoff_max: durationMs.default(30_000),
    /** Skip TLS verification (self-signed test clusters only). */
    tls_insecure: z.boolean().default(false),
  })
  .strict();

export const localFileSinkSchema = z
  .object({
    /** Relative to the data directory. */
    path: z.string().default('logs/vigil-logs.ndjson'),
    max_size: byteSize.default(100 * 1024 * 1024),
    max_files: z.number().int().min(1).max(1000).default(10),
  })
  .strict();

export const faroSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Required in the x-api-key header when set (like Alloy's faro.receiver api_key). */
    api_key: optionalString,
    /** Exact origins, or "*". Empty: no CORS headers (same-origin only). */
    cors_allowed_origins: z.array(z.string()).default([]),
    max_allowed_payload_size: byteSize.default(5 * 1024 * 1024),
    /** Per-client token bucket: events per second and burst. 0 disables. */
    rate_limit: z.number().nonnegative().default(50),
    rate_burst: z.number().int().nonnegative().default(100),
    /** Directory with `<file>.map` source maps for stack frame resolution. */
    sourcemaps_dir: optionalString,
    /** Stack frame filename prefix the source maps' files are served under. */
    sourcemaps_url_prefix: optionalString,
  })
  .strict();

export const logsSchema = z
  .object({
    files: z.array(logFileSchema).default([]),
    /** How often tailed files are checked for new data, rotation and truncation. */
    poll_interval: durationMs.default(250),
    max_line_bytes: byteSize.default(1024 * 1024),
    http: z
      .object({
        enabled: z.boolean().default(true),
        body_limit: byteSize.default(5 * 1024 * 1024),
        max_lines: z.number().int().min(1).default(100_000),
      })
      .strict()
      .default({ enabled: true, body_limit: 5 * 1024 * 1024, max_lines: 100_000 }),
    /** Ship Vigil's own logs through the pipeline. */
    self: z.boolean().default(true),
    queue: z
      .object({
        max_events: z.number().int().min(1).default(10_000),
        max_bytes: byteSize.default(16 * 1024 * 1024),
        /** Disk spool cap; beyond it new events are dropped (and counted). */
        spool_max_bytes: byteSize.default(1024 * 1024 * 1024),
      })
      .strict()
      .default({ max_events: 10_000, max_bytes: 16 * 1024 * 1024, spool_max_bytes: 1024 * 1024 * 1024 }),
    elasticsearch: elasticsearchSchema.optional(),
    local: localFileSinkSchema.default(localFileSinkSchema.parse({})),
    faro: faroSchema.default(faroSchema.parse({})),
  })
  .strict();

export type LogsConfig = z.output<typeof logsSchema>;
export type ElasticsearchConfig = z.output<typeof elasticsearchSchema>;
export type FaroConfig = z.output<typeof faroSchema>;
export type LogFileConfig = z.output<typeof logFileSchema>;

export const logsSections = {
  logs: logsSchema.default(logsSchema.parse({})),
} satisfies Record<string, z.ZodType>;
