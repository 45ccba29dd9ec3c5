import { z } from 'zod';
import { labelSet } from '../config/types.js';

/**
 * The target-group document file_sd and http_sd read: a list of
 * `{targets: [...], labels: {...}}`, strict as Prometheus's decoder.
 */
export const targetGroupListSchema = z.array(
  z
    .object({
      targets: z.array(z.string()).nullish().transform((t) => t ?? []),
      labels: labelSet.nullish().transform((l) => l ?? {}),
    })
    .strict(),
);
export type TargetGroupList = z.output<typeof targetGroupListSchema>;
