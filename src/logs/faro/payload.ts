import { z } from 'zod';
import type { TransportBody } from '@grafana/faro-core';

/**
 * Validation of what @grafana/faro-web-sdk's fetch transport posts (faro-core's
 * TransportBody). Known fields are type-checked and bounded; unknown meta keys
 * pass through (newer SDKs add some) but are never trusted as labels.
 */
const MAX_ITEMS = 1000;
const s = (max = 4096) => z.string().max(max);
const attrs = z.record(s(256), s(4096)).refine((r) => Object.keys(r).length <= 100, 'more than 100 attributes');
const trace = z.object({ trace_id: s(64).optional(), span_id: s(64).optional() }).passthrough().optional();

const frame = z
  .object({
    filename: s(2048),
    function: s(1024),
    lineno: z.number().int().nonnegative().optional(),
    colno: z.number().int().nonnegative().optional(),
    bundleid: s(256).optional(),
  })
  .passthrough();

export const exceptionSchema = z
  .object({
    type: s(512),
    value: s(16384),
    timestamp: s(64),
    fatal: z.boolean().optional(),
    fingerprint: s(512).optional(),
    stacktrace: z.object({ frames: z.array(frame).max(200) }).optional(),
    context: attrs.optional(),
    trace,
  })
  .passthrough();

export const logSchema = z
  .object({
    message: s(65536),
    level: s(32),
    timestamp: s(64),
    context: attrs.optional().nullable(),
    trace,
  })
  .passthrough();

export const eventSchema = z
  .object({ name: s(512), timestamp: s(64), domain: s(256).optional(), attributes: attrs.optional(), trace })
  .passthrough();

export const measurementSchema = z
  .object({
    type: s(256),
    values: z.record(s(128), z.number().finite()).refine((r) => Object.keys(r).length <= 50, 'more than 50 values'),
    timestamp: s(64),
    context: attrs.optional(),
    trace,
  })
  .passthrough();

const metaObj = <T extends z.ZodRawShape>(shape: T) => z.object(shape).passthrough().optional();

export const metaSchema = z
  .object({
    sdk: metaObj({ name: s(256).optional(), version: s(64).optional() }),
    app: metaObj({
      name: s(256).optional(),
      namespace: s(256).optional(),
      release: s(256).optional(),
      version: s(256).optional(),
      environment: s(256).optional(),
      bundleId: s(256).optional(),
    }),
    user: metaObj({ email: s(512).optional(), id: s(256).optional(), username: s(256).optional(), attributes: attrs.optional() }),
    session: metaObj({ id: s(256).optional(), attributes: attrs.optional() }),
    page: metaObj({ id: s(256).optional(), url: s(8192).optional(), attributes: attrs.optional() }),
    browser: metaObj({
      name: s(256).optional(),
      version: s(256).optional(),
      os: s(256).optional(),
      mobile: z.boolean().optional(),
      userAgent: s(2048).optional(),
      language: s(64).optional(),
    }),
    view: metaObj({ name: s(256).optional() }),
  })
  .passthrough();

export const faroBodySchema = z
  .object({
    meta: metaSchema,
    logs: z.array(logSchema).max(MAX_ITEMS).optional(),
    exceptions: z.array(exceptionSchema).max(MAX_ITEMS).optional(),
    events: z.array(eventSchema).max(MAX_ITEMS).optional(),
    measurements: z.array(measurementSchema).max(MAX_ITEMS).optional(),
    // Traces (OTLP JSON) are accepted and not stored: Vigil has no trace backend.
    traces: z.unknown().optional(),
  })
  .strict();

export type FaroBody = z.output<typeof faroBodySchema>;

/** Compile-time check that the schema's output stays assignable to faro-core's type. */
export type _AssertCompatible = FaroBody extends Pick<TransportBody, 'meta'> ? true : never;

/** First validation issue as `field.path: message`. */
export function describeIssue(err: z.ZodError): string {
  const i = err.issues[0];
  return i ? `${i.path.join('.') || '(body)'}: ${i.message}` : 'invalid payload';
}
