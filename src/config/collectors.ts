import { z } from 'zod';
import { compileRegex } from '../model/regex.js';
import { goQuote } from '../model/strconv.js';
import { sdConfigFields } from './discovery.js';
import { authorizationSchema, basicAuthSchema, tlsConfigSchema } from './http-client.js';
import { byteSize, durationMs, labelName, labelSet, optionalString } from './types.js';

/**
 * The collectors' sections of vigil.yml: `scrape_configs` (what Prometheus
 * accepts for those keys), `health_checks`, `postgres` and `redis`. Intervals and
 * timeouts left out here take `global`'s when the collectors are wired.
 */

export const RELABEL_ACTIONS = [
  'replace',
  'keep',
  'drop',
  'keepequal',
  'dropequal',
  'hashmod',
  'labelmap',
  'labeldrop',
  'labelkeep',
  'lowercase',
  'uppercase',
] as const;
export type RelabelAction = (typeof RELABEL_ACTIONS)[number];

const DEFAULT_REGEX = '(.*)';

/** Prometheus accepts `target_label` as a template like `${1}_x` for replace. */
const TARGET_LABEL_TEMPLATE = /^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+(?:[a-zA-Z0-9_]|\$(?:\{\w+\}|\w+))*)$/;

export const relabelConfigSchema = z
  .object({
    source_labels: z.array(labelName).default([]),
    separator: z.string().default(';'),
    target_label: z.string().default(''),
    regex: z.string().default(DEFAULT_REGEX),
    modulus: z.number().int().nonnegative().default(0),
    replacement: z.string().default('$1'),
    action: z.enum(RELABEL_ACTIONS).default('replace'),
  })
  .strict()
  .superRefine((c, ctx) => {
    try {
      compileRegex(c.regex);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['regex'], message: `invalid regex ${goQuote(c.regex)}: ${(err as Error).message}` });
    }
    const needsTarget = ['replace', 'hashmod', 'lowercase', 'uppercase', 'keepequal', 'dropequal'].includes(c.action);
    if (needsTarget && !c.target_label) {
      ctx.addIssue({ code: 'custom', path: ['target_label'], message: `relabel action ${c.action} requires target_label` });
    }
    if (c.target_label) {
      const ok = c.action === 'replace' ? TARGET_LABEL_TEMPLATE.test(c.target_label) : /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(c.target_label);
      if (!ok) ctx.addIssue({ code: 'custom', path: ['target_label'], message: `"${c.target_label}" is not a valid label name` });
    }
    if (c.action === 'hashmod' && c.modulus === 0) {
      ctx.addIssue({ code: 'custom', path: ['modulus'], message: 'relabel action hashmod requires a modulus greater than 0' });
    }
    if (['keep', 'drop', 'keepequal', 'dropequal', 'hashmod', 'lowercase', 'uppercase'].includes(c.action) && c.source_labels.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['source_labels'], message: `relabel action ${c.action} requires source_labels` });
    }
    if ((c.action === 'keepequal' || c.action === 'dropequal') && (c.regex !== DEFAULT_REGEX || c.replacement !== '$1')) {
      ctx.addIssue({ code: 'custom', path: ['action'], message: `relabel action ${c.action} takes no regex or replacement` });
    }
    if (c.action === 'labeldrop' || c.action === 'labelkeep') {
      if (c.source_labels.length || c.target_label || c.modulus || c.separator !== ';' || c.replacement !== '$1') {
        ctx.addIssue({
          code: 'custom',
          path: ['action'],
          message: `relabel action ${c.action} takes only regex (no source_labels, target_label, modulus, separator or replacement)`,
        });
      }
    }
  });
export type RelabelConfig = z.output<typeof relabelConfigSchema>;

/** `host:port` (IPv6 in brackets), what Prometheus accepts as a static target. */
const target = z
  .string()
  .refine((t) => /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/.test(t) && !t.includes('/'), {
    message: 'must be host:port (no scheme or path; use scheme and metrics_path)',
  });

const staticConfigSchema = z
  .object({
    targets: z.array(target).default([]),
    labels: labelSet.default({}),
  })
  .strict();

/** HTTP client settings shared by scrape configs and health checks. */
const httpClientFields = {
  basic_auth: basicAuthSchema.optional(),
  authorization: authorizationSchema.optional(),
  tls_config: tlsConfigSchema.optional(),
  follow_redirects: z.boolean().default(true),
  // Accepted for Prometheus compatibility; Node's fetch negotiates HTTP/1.1.
  enable_http2: z.boolean().optional(),
};

function checkAuth(c: { basic_auth?: unknown; authorization?: unknown }, ctx: z.RefinementCtx): void {
  if (c.basic_auth && c.authorization) {
    ctx.addIssue({ code: 'custom', path: ['authorization'], message: 'at most one of basic_auth and authorization may be set' });
  }
}

function checkTimeout(c: { scrape_interval?: number; scrape_timeout?: number }, ctx: z.RefinementCtx): void {
  if (c.scrape_interval !== undefined && c.scrape_timeout !== undefined && c.scrape_timeout > c.scrape_interval) {
    ctx.addIssue({ code: 'custom', path: ['scrape_timeout'], message: 'scrape_timeout must not be greater than scrape_interval' });
  }
  if (c.scrape_interval === 0) ctx.addIssue({ code: 'custom', path: ['scrape_interval'], message: 'scrape_interval must be greater than 0' });
  if (c.scrape_timeout === 0) ctx.addIssue({ code: 'custom', path: ['scrape_timeout'], message: 'scrape_timeout must be greater than 0' });
}

/** Exposition formats a scrape may negotiate (Prometheus's `scrape_protocols` values). */
export const scrapeProtocolSchema = z.enum(['PrometheusProto', 'OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText1.0.0', 'PrometheusText0.0.4']);
export type ScrapeProtocol = z.output<typeof scrapeProtocolSchema>;

/** Content negotiation and native histograms, per job and in `global` (Prometheus 3's names). */
export const scrapeProtocolFields = {
  scrape_protocols: z.array(scrapeProtocolSchema).min(1, 'scrape_protocols must not be empty').optional(),
  scrape_native_histograms: z.boolean().optional(),
};

export const scrapeConfigSchema = z
  .object({
    job_name: z.string().min(1, 'job_name must not be empty'),
    scrape_interval: durationMs.optional(),
    scrape_timeout: durationMs.optional(),
    metrics_path: z.string().startsWith('/', 'metrics_path must start with "/"').default('/metrics'),
    scheme: z.enum(['http', 'https']).default('http'),
    params: z.record(z.string(), z.array(z.string())).default({}),
    honor_labels: z.boolean().default(false),
    honor_timestamps: z.boolean().default(true),
    static_configs: z.array(staticConfigSchema).default([]),
    ...sdConfigFields,
    /** Vigil shorthand for one static config without labels. */
    targets: z.array(target).optional(),
    relabel_configs: z.array(relabelConfigSchema).default([]),
    metric_relabel_configs: z.array(relabelConfigSchema).default([]),
    // Scrape limits: left out, the safe defaults of src/collectors/limits.ts apply; 0 = no limit.
    sample_limit: z.number().int().nonnegative().optional(),
    label_limit: z.number().int().nonnegative().optional(),
    label_name_length_limit: z.number().int().nonnegative().optional(),
    label_value_length_limit: z.number().int().nonnegative().optional(),
    target_limit: z.number().int().nonnegative().default(0),
    body_size_limit: byteSize.optional(),
    ...scrapeProtocolFields,
    ...httpClientFields,
  })
  .strict()
  .superRefine((c, ctx) => {
    checkTimeout(c, ctx);
    checkAuth(c, ctx);
  });
export type ScrapeConfig = z.output<typeof scrapeConfigSchema>;

const scrapeConfigsSchema = z.array(scrapeConfigSchema).superRefine(
  (list, ctx) => {
    const seen = new Map<string, number>();
    list.forEach((c, i) => {
      const first = seen.get(c.job_name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: [i, 'job_name'], message: `duplicate job_name "${c.job_name}" (first at scrape_configs[${first}])` });
      } else seen.set(c.job_name, i);
    });
  },
  // Zod skips a refinement once any entry has an error; an operator fixing a
  // config wants every error in one pass, and this check reads only the names.
  { when: (payload) => Array.isArray(payload.value) && payload.value.every((c: unknown) => typeof (c as { job_name?: unknown } | undefined)?.job_name === 'string') },
);

const httpUrl = z.string().refine(
  (u) => {
    try {
      const p = new URL(u);
      return p.protocol === 'http:' || p.protocol === 'https:';
    } catch {
      return false;
    }
  },
  { message: 'must be an http:// or https:// URL' },
);

export const healthCheckSchema = z
  .object({
    /** Job label of the probe series. */
    job_name: z.string().min(1).default('health'),
    url: httpUrl,
    scrape_interval: durationMs.optional(),
    scrape_timeout: durationMs.optional(),
    labels: labelSet.default({}),
    /** Status codes counted as success; default any 2xx. */
    valid_status_codes: z.array(z.number().int().min(100).max(599)).default([]),
    ...httpClientFields,
  })
  .strict()
  .superRefine((c, ctx) => {
    checkTimeout(c, ctx);
    checkAuth(c, ctx);
  });
export type HealthCheckConfig = z.output<typeof healthCheckSchema>;

function oneOrMany<T extends z.ZodType>(item: T) {
  return z.union([z.array(item), item]).transform((v) => (Array.isArray(v) ? v : [v]) as Array<z.output<T>>);
}

/** Settings shared by the PostgreSQL and Redis collector blocks. */
function databaseCollectorFields(defaultJob: string) {
  return {
    job_name: z.string().min(1).default(defaultJob),
    /** `instance` label; default host:port of the server. */
    instance: optionalString,
    scrape_interval: durationMs.optional(),
    scrape_timeout: durationMs.optional(),
    labels: labelSet.default({}),
  };
}

export const postgresSchema = z
  .object({
    /** postgres:// connection string, normally from ${ENV}; empty disables the collector. */
    dsn: optionalString,
    ...databaseCollectorFields('postgres'),
  })
  .strict()
  .superRefine((c, ctx) => {
    checkTimeout(c, ctx);
    if (c.dsn && !/^postgres(ql)?:\/\//.test(c.dsn)) {
      // Never echo the DSN: it may carry a password.
      ctx.addIssue({ code: 'custom', path: ['dsn'], message: 'must be a postgres:// or postgresql:// URL' });
    }
  });
export type PostgresCollectorConfig = z.output<typeof postgresSchema>;

export const redisSchema = z
  .object({
    /** redis:// or rediss:// URL, normally from ${ENV}; empty disables the collector. */
    url: optionalString,
    ...databaseCollectorFields('redis'),
  })
  .strict()
  .superRefine((c, ctx) => {
    checkTimeout(c, ctx);
    if (c.url && !/^rediss?:\/\//.test(c.url)) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'must be a redis:// or rediss:// URL' });
    }
  });
export type RedisCollectorConfig = z.output<typeof redisSchema>;

/**
 * The scrape worker threads (restart to change: the pool is built once). `nice` is the
 * threads' scheduling priority on Linux, so scraping yields the CPU to the main thread
 * (health, rule evaluation, notifications) when cores are short.
 */
export const scrapeWorkersSchema = z
  .object({
    /** Worker threads; default one per core. */
    count: z.number().int().positive().max(256).optional(),
    nice: z.number().int().min(-20).max(19).default(10),
    /** Old-generation heap limit per worker: a target that exhausts it costs that worker only. */
    heap_limit: byteSize.default(256 * 1024 * 1024).refine((b) => b >= 16 * 1024 * 1024, 'must be at least 16MiB'),
  })
  .strict();
export type ScrapeWorkersConfig = z.output<typeof scrapeWorkersSchema>;

export const collectorsSections = {
  scrape_configs: scrapeConfigsSchema.default([]),
  scrape_workers: scrapeWorkersSchema.default(scrapeWorkersSchema.parse({})),
  health_checks: z.array(healthCheckSchema).default([]),
  postgres: oneOrMany(postgresSchema).default([]),
  redis: oneOrMany(redisSchema).default([]),
} satisfies Record<string, z.ZodType>;

/** The sections createCollectors needs (a VigilConfig satisfies it). */
export interface CollectorsConfig {
  global: {
    scrape_interval: number;
    scrape_timeout: number;
    external_labels?: Record<string, string>;
    body_size_limit?: number;
    sample_limit?: number;
    scrape_protocols?: ScrapeProtocol[];
    scrape_native_histograms?: boolean;
  };
  scrape_configs: ScrapeConfig[];
  health_checks: HealthCheckConfig[];
  postgres: PostgresCollectorConfig[];
  redis: RedisCollectorConfig[];
  /** Absent: the pool's defaults. */
  scrape_workers?: ScrapeWorkersConfig;
}
