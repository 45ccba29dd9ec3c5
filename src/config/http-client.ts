/**
 * The HTTP client settings Prometheus's configs share (its common
 * HTTPClientConfig): used by scrape configs, health checks, discovery clients
 * and remote endpoints.
 */
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
