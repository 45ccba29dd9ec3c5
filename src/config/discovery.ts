import { z } from 'zod';
import { authorizationSchema, basicAuthSchema, tlsConfigSchema } from './http-client.js';
import { durationMs, optionalString } from './types.js';

/**
 * The service-discovery blocks of a scrape config (`file_sd_configs`,
 * `dns_sd_configs`, `http_sd_configs`, `kubernetes_sd_configs`) with
 * Prometheus's keys and defaults, and the `sharding:` section that splits the
 * discovered targets between Vigil replicas.
 */

/** The HTTP client settings discovery clients accept (as Prometheus's common HTTPClientConfig). */
const sdHttpFields = {
  basic_auth: basicAuthSchema.optional(),
  authorization: authorizationSchema.optional(),
  bearer_token: optionalString,
  bearer_token_file: optionalString,
  tls_config: tlsConfigSchema.optional(),
  follow_redirects: z.boolean().default(true),
  enable_http2: z.boolean().optional(),
};

function checkHttpAuth(c: { basic_auth?: unknown; authorization?: unknown; bearer_token?: string; bearer_token_file?: string }, ctx: z.RefinementCtx): void {
  const set = [c.basic_auth && 'basic_auth', c.authorization && 'authorization', (c.bearer_token || c.bearer_token_file) && 'bearer_token'].filter(Boolean);
  if (set.length > 1) ctx.addIssue({ code: 'custom', path: [String(set[1])], message: `at most one of basic_auth, authorization and bearer_token may be set (found ${set.join(', ')})` });
  if (c.bearer_token && c.bearer_token_file) ctx.addIssue({ code: 'custom', path: ['bearer_token_file'], message: 'at most one of bearer_token and bearer_token_file may be set' });
}

/** Prometheus accepts `*.json`, `*.yml`, `*.yaml` patterns whose last element may hold a `*`. */
const fileSdPattern = z.string().refine((p) => /\.(json|ya?ml)$/i.test(p) && !/[*?[]/.test(p.slice(0, p.lastIndexOf('/') + 1)), {
  message: 'must end in .json, .yml or .yaml; only the file name may contain wildcards',
});

export const fileSdSchema = z
  .object({
    files: z.array(fileSdPattern).min(1, 'file_sd_configs needs at least one file'),
    refresh_interval: durationMs.default(300_000),
  })
  .strict();
export type FileSdConfig = z.output<typeof fileSdSchema>;

const hostPort = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/;

export const dnsSdSchema = z
  .object({
    names: z.array(z.string().min(1)).min(1, 'dns_sd_configs needs at least one name'),
    type: z.enum(['SRV', 'A', 'AAAA', 'MX']).default('SRV'),
    port: z.number().int().min(0).max(65535).optional(),
    refresh_interval: durationMs.default(30_000),
    /** Vigil addition: name servers (host or host:port) instead of the system's resolv.conf. */
    nameservers: z.array(z.string().regex(hostPort, 'must be host or host:port')).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.type !== 'SRV' && c.port === undefined) ctx.addIssue({ code: 'custom', path: ['port'], message: `a port is required for ${c.type} records` });
  });
export type DnsSdConfig = z.output<typeof dnsSdSchema>;

export const httpSdSchema = z
  .object({
    url: z.string().refine((u) => /^https?:\/\/[^/]/.test(u), { message: 'must be an http:// or https:// URL' }),
    refresh_interval: durationMs.default(60_000),
    ...sdHttpFields,
  })
  .strict()
  .superRefine(checkHttpAuth);
export type HttpSdConfig = z.output<typeof httpSdSchema>;

export const KUBERNETES_ROLES = ['pod', 'endpoints', 'endpointslice', 'service', 'node', 'ingress'] as const;
export type KubernetesRole = (typeof KUBERNETES_ROLES)[number];

const selectorSchema = z
  .object({
    role: z.enum(KUBERNETES_ROLES),
    label: z.string().optional(),
    field: z.string().optional(),
  })
  .strict();

export const kubernetesSdSchema = z
  .object({
    api_server: z.string().url().optional(),
    role: z.enum(KUBERNETES_ROLES, { message: `role must be one of ${KUBERNETES_ROLES.join(', ')}` }),
    kubeconfig_file: optionalString,
    namespaces: z
      .object({
        own_namespace: z.boolean().default(false),
        names: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .default({ own_namespace: false, names: [] }),
    selectors: z.array(selectorSchema).default([]),
    attach_metadata: z.object({ node: z.boolean().default(false) }).strict().default({ node: false }),
    ...sdHttpFields,
  })
  .strict()
  .superRefine((c, ctx) => {
    checkHttpAuth(c, ctx);
    if (c.role === 'ingress') ctx.addIssue({ code: 'custom', path: ['role'], message: 'role ingress is not supported by Vigil (use service or endpoints)' });
    if (c.kubeconfig_file && c.api_server) ctx.addIssue({ code: 'custom', path: ['kubeconfig_file'], message: 'cannot use both kubeconfig_file and api_server' });
    const customHttp = c.basic_auth || c.authorization || c.bearer_token || c.bearer_token_file || c.tls_config;
    if (c.kubeconfig_file && customHttp) {
      ctx.addIssue({ code: 'custom', path: ['kubeconfig_file'], message: 'cannot use a custom HTTP client configuration together with kubeconfig_file' });
    } else if (!c.api_server && customHttp) {
      // In-cluster, the service account decides: settings here would be silently ignored.
      ctx.addIssue({ code: 'custom', path: ['api_server'], message: 'to use custom HTTP client configuration please provide the api_server URL explicitly' });
    }
    if (c.namespaces.own_namespace && (c.api_server || c.kubeconfig_file)) {
      // The own namespace is the pod's, known only in-cluster.
      const other = c.api_server ? 'api_server' : 'kubeconfig_file';
      ctx.addIssue({ code: 'custom', path: ['namespaces', 'own_namespace'], message: `cannot use ${other} and namespaces.own_namespace together` });
    }
    // As Prometheus: each role may appear once, and only roles the discovery role watches.
    const allowed: Record<string, string[]> = {
      pod: ['pod'],
      service: ['service'],
      node: ['node'],
      ingress: ['ingress'],
      endpoints: ['pod', 'service', 'endpoints'],
      endpointslice: ['pod', 'service', 'endpointslice'],
    };
    const seen = new Set<string>();
    c.selectors.forEach((s, i) => {
      if (seen.has(s.role)) ctx.addIssue({ code: 'custom', path: ['selectors', i, 'role'], message: `duplicated selector role: ${s.role}` });
      seen.add(s.role);
      if (!allowed[c.role].includes(s.role)) {
        ctx.addIssue({ code: 'custom', path: ['selectors', i, 'role'], message: `${c.role} role supports only ${allowed[c.role].join(', ')} selectors` });
      }
      for (const key of ['label', 'field'] as const) {
        const sel = s[key];
        if (sel !== undefined && !validSelector(sel)) ctx.addIssue({ code: 'custom', path: ['selectors', i, key], message: `invalid ${key} selector "${sel}"` });
      }
    });
  });
export type KubernetesSdConfig = z.output<typeof kubernetesSdSchema>;

/** A loose check of Kubernetes selector syntax: `k=v`, `k!=v`, `k in (a,b)`, `!k`, `k`, comma-separated. */
function validSelector(sel: string): boolean {
  if (sel.length > 4096) return false;
  const parts = sel.split(/,(?![^(]*\))/);
  return parts.every((p) => /^\s*(!?[A-Za-z0-9_./-]+|[A-Za-z0-9_./-]+\s*(==?|!=)\s*[A-Za-z0-9_.-]*|[A-Za-z0-9_./-]+\s+(in|notin)\s+\([A-Za-z0-9_.,\s-]*\))\s*$/.test(p));
}

/** The discovery keys a scrape config accepts (spread into its schema). */
export const sdConfigFields = {
  file_sd_configs: z.array(fileSdSchema).default([]),
  dns_sd_configs: z.array(dnsSdSchema).default([]),
  http_sd_configs: z.array(httpSdSchema).default([]),
  kubernetes_sd_configs: z.array(kubernetesSdSchema).default([]),
};

export interface SdConfigs {
  file_sd_configs: FileSdConfig[];
  dns_sd_configs: DnsSdConfig[];
  http_sd_configs: HttpSdConfig[];
  kubernetes_sd_configs: KubernetesSdConfig[];
}

export const shardingSchema = z
  .object({
    /** Redis shared by the replicas; empty = `alerting.redis_url`. */
    redis_url: optionalString,
    key_prefix: z.string().default('vigil:shard:'),
    /** This replica's name; empty = hostname and process id. */
    replica: optionalString,
    heartbeat_interval: durationMs.default(1_000),
    /** A replica whose heartbeat is older than this is gone and its targets move. */
    member_timeout: durationMs.default(5_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.member_timeout < 2 * c.heartbeat_interval) {
      ctx.addIssue({ code: 'custom', path: ['member_timeout'], message: 'member_timeout must be at least twice heartbeat_interval' });
    }
  });
export type ShardingConfig = z.output<typeof shardingSchema>;

export const discoverySections = {
  sharding: shardingSchema.optional(),
} satisfies Record<string, z.ZodType>;

