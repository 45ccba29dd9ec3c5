import { z } from 'zod';

// Placeholder: the jobs section's schema is filled in by its feature.
export const jobsSections = {} satisfies Record<string, z.ZodType>;
