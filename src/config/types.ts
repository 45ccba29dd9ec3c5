import { z } from 'zod';
import { parseDuration } from '../model/duration.js';

/** A Prometheus duration string (`15s`, `1h30m`), parsed to milliseconds. */
export const durationMs = z.string().transform((s, ctx) => {
  try {
    return parseDuration(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

export const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'not a valid label name');
export const labelSet = z.record(labelName, z.string());

/** A byte size: a number, or a string with a unit (`1MiB`, `512KB`, `10mb`). */
export const byteSize = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?$/i.exec(v.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `not a valid size: "${v}" (use e.g. 512KiB, 10MB)` });
    return z.NEVER;
  }
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };
  return Math.round(Number(m[1]) * mult[unit]);
});

/** A secret given inline (usually via ${ENV}) or by file; never logged. */
export const secretString = z.string().min(1);

/** An optional string where an empty value (`token: ${TOKEN:-}`) means "not set". */
export const optionalString = z
  .string()
  .nullish()
  .transform((v) => (v ? v : undefined));
