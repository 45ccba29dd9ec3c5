/**
 * The HTTP client settings Prometheus's configs share (its common
 * HTTPClientConfig): used by scrape configs, health checks, discovery clients
 * and remote endpoints.
 */
import { z } from 'zod';
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

export const tlsConfigSchema = z
  .object({
    insecure_skip_verify: z.boolean().default(false),
    ca_file: optionalString,
    cert_file: optionalString,
    key_file: optionalString,
    server_name: optionalString,
    min_version: optionalString,
  })
  .strict();
