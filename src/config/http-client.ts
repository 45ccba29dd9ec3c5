/**
 * The HTTP client settings Prometheus's configs share (its common
 * HTTPClientConfig): used by scrape configs, health checks, discovery clients
 * and remote endpoints.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { TLS_VERSIONS } from '../util/tls-options.js';
import { optionalString } from './types.js';

export const basicAuthSchema = z
  .object({
    username: z.string(),
    password: optionalString,
    password_file: optionalString,
  })
  .strict();

export const authorizationSchema = z
  .object({
    type: z.string().default('Bearer'),
    credentials: optionalString,
    credentials_file: optionalString,
  })
  .strict();

/** Read into Node TLS options by src/util/tls-options.ts. */
export const tlsConfigSchema = z
  .object({
    insecure_skip_verify: z.boolean().default(false),
    ca_file: optionalString,
    cert_file: optionalString,
    key_file: optionalString,
    server_name: optionalString,
    min_version: optionalString.refine((v) => v === undefined || v in TLS_VERSIONS, { message: `min_version must be one of ${Object.keys(TLS_VERSIONS).join(', ')}` }),
  })
  .strict();

/** The file keys of Prometheus's common HTTP client settings. */
export interface HttpClientFiles {
  basic_auth?: { password_file?: string };
  authorization?: { credentials_file?: string };
  bearer_token_file?: string;
  tls_config?: { ca_file?: string; cert_file?: string; key_file?: string };
}

/** The password and token files set in one HTTP client block, as [key path within the block, file] (its tls_config files are read by tlsOptions). */
export function httpClientFiles(c: HttpClientFiles): Array<[string[], string]> {
  const out: Array<[string[], string]> = [];
  if (c.basic_auth?.password_file) out.push([['basic_auth', 'password_file'], c.basic_auth.password_file]);
  if (c.authorization?.credentials_file) out.push([['authorization', 'credentials_file'], c.authorization.credentials_file]);
  if (c.bearer_token_file) out.push([['bearer_token_file'], c.bearer_token_file]);
  return out;
}

/** Makes the files of one HTTP client block absolute against `baseDir`, in place. */
export function resolveHttpClientFiles(c: HttpClientFiles, baseDir: string): void {
  const abs = (p: string) => resolve(baseDir, p);
  if (c.basic_auth?.password_file) c.basic_auth.password_file = abs(c.basic_auth.password_file);
  if (c.authorization?.credentials_file) c.authorization.credentials_file = abs(c.authorization.credentials_file);
  if (c.bearer_token_file) c.bearer_token_file = abs(c.bearer_token_file);
  const t = c.tls_config;
  if (t) {
    if (t.ca_file) t.ca_file = abs(t.ca_file);
    if (t.cert_file) t.cert_file = abs(t.cert_file);
    if (t.key_file) t.key_file = abs(t.key_file);
  }
}
