import { z } from 'zod';
import { relabelConfigSchema } from './collectors.js';
import { authorizationSchema, basicAuthSchema, tlsConfigSchema } from './http-client.js';
import { durationMs } from './types.js';

/**
 * `remote_write` and `query_backend`: sending samples to, and querying, an
 * external Prometheus-compatible engine. `remote_write` entries take the keys
 * of Prometheus's `remote_write` block.
 */
const headers = z
  .record(z.string().regex(/^[A-Za-z0-9-]+$/, 'not a valid header name'), z.string())
  .refine((h) => !Object.keys(h).some((k) => /^(content-type|content-encoding|content-length|x-prometheus-remote-write-version|user-agent|host)$/i.test(k)), {
    message: 'headers must not override protocol headers (Content-Type, Content-Encoding, X-Prometheus-Remote-Write-Version, User-Agent, Host)',
  })
  .default({});

const queueConfigSchema = z
  .object({
    /** Samples buffered per shard. */
    capacity: z.number().int().positive().max(10_000_000).default(10_000),
    max_shards: z.number().int().positive().max(1000).default(50),
    min_shards: z.number().int().positive().max(1000).default(1),
    max_samples_per_send: z.number().int().positive().max(1_000_000).default(2000),
    batch_send_deadline: durationMs.default(5000),
    min_backoff: durationMs.default(30),
    max_backoff: durationMs.default(5000),
    retry_on_http_429: z.boolean().default(true),
    /** Samples older than this are dropped instead of sent (0 = never). */
    sample_age_limit: durationMs.default(0),
  })
  .strict()
  .refine((q) => q.min_shards <= q.max_shards, { message: 'min_shards must not be greater than max_shards', path: ['min_shards'] })
  .refine((q) => q.min_backoff <= q.max_backoff, { message: 'min_backoff must not be greater than max_backoff', path: ['min_backoff'] });

const metadataConfigSchema = z
  .object({
    send: z.boolean().default(true),
    send_interval: durationMs.default(60_000),
    max_samples_per_send: z.number().int().positive().max(100_000).default(500),
  })
  .strict();

export const remoteWriteSchema = z
  .object({
    url: z.url(),
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'name: letters, digits, _ and -, at most 64').optional(),
    remote_timeout: durationMs.default(30_000),
    headers,
    basic_auth: basicAuthSchema.optional(),
    authorization: authorizationSchema.optional(),
    /** Prometheus's tls_config: files are read at start and by `vigil check config`, relative to the config file's directory. */
    tls_config: tlsConfigSchema.optional(),
    write_relabel_configs: z.array(relabelConfigSchema).default([]),
    queue_config: queueConfigSchema.default(queueConfigSchema.parse({})),
    metadata_config: metadataConfigSchema.default(metadataConfigSchema.parse({})),
    // Accepted for Prometheus compatibility: Vigil keeps no exemplars.
    send_exemplars: z.boolean().optional(),
    // Off by default as in Prometheus: a receiver without native histograms rejects the whole batch.
    send_native_histograms: z.boolean().default(false),
  })
  .strict()
  .refine((c) => !(c.basic_auth && c.authorization), { message: 'at most one of basic_auth and authorization may be set', path: ['authorization'] });
export type RemoteWriteConfig = z.output<typeof remoteWriteSchema>;

export const queryBackendSchema = z
  .object({
    /** Base URL of a Prometheus-compatible query API (`<url>/api/v1/query` is called). */
    url: z.url(),
    timeout: durationMs.default(30_000),
    headers,
    basic_auth: basicAuthSchema.optional(),
    authorization: authorizationSchema.optional(),
    /** As on remote_write entries. */
    tls_config: tlsConfigSchema.optional(),
    /**
     * Rule files (paths or globs, as in rule_files) evaluated on the local store
     * instead: rules about the backend itself, which must work while it is down.
     */
    local_rule_files: z.array(z.string().min(1)).max(1000).default([]),
    /**
     * `backend`: the backend evaluates each query in its own language. `local`: the
     * backend only returns raw samples and Vigil's PromQL engine evaluates, so
     * engines whose language differs from PromQL (MetricsQL's rate() does not
     * extrapolate) give Prometheus's answers; costs more transfer per query.
     */
    evaluation: z.enum(['backend', 'local']).default('backend'),
  })
  .strict()
  .refine((c) => !(c.basic_auth && c.authorization), { message: 'at most one of basic_auth and authorization may be set', path: ['authorization'] });
export type QueryBackendConfig = z.output<typeof queryBackendSchema>;

export const remoteSections = {
  remote_write: z.array(remoteWriteSchema).max(100).default([]),
  query_backend: queryBackendSchema.optional(),
} satisfies Record<string, z.ZodType>;

/**
 * Whether the fields checkStorageMode reads parsed, so that it can run beside
 * errors elsewhere in the file (zod skips a refinement once anything failed).
 */
export function storageModeReadable(payload: { value: unknown }): boolean {
  const c = payload.value as { storage?: { mode?: unknown }; rule_files?: unknown; remote_write?: unknown; query_backend?: { local_rule_files?: unknown } } | undefined;
  return (
    typeof c?.storage?.mode === 'string' &&
    Array.isArray(c.rule_files) &&
    Array.isArray(c.remote_write) &&
    (c.query_backend === undefined || Array.isArray(c.query_backend.local_rule_files))
  );
}

/** Agent mode keeps no local query store: rules need a query backend. */
export function checkStorageMode(
  c: { storage: { mode: 'server' | 'agent' }; rule_files: string[]; query_backend?: { local_rule_files: string[] }; remote_write: unknown[] },
  ctx: z.RefinementCtx,
): void {
  if (c.storage.mode !== 'agent') return;
  if (c.rule_files.length && !c.query_backend) {
    ctx.addIssue({ code: 'custom', path: ['storage', 'mode'], message: 'storage.mode agent keeps no local query store: rule_files need a query_backend' });
  }
  if (c.query_backend?.local_rule_files.length) {
    ctx.addIssue({ code: 'custom', path: ['query_backend', 'local_rule_files'], message: 'storage.mode agent keeps no local store to evaluate local_rule_files on' });
  }
  if (c.remote_write.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['storage', 'mode'], message: 'storage.mode agent needs at least one remote_write entry (the data would go nowhere)' });
  }
}
