import { z } from 'zod';

// Placeholder: the alerting section's schema is filled in by its feature.
export const alertingSections = {} satisfies Record<string, z.ZodType>;
