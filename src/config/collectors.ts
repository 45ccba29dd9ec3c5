import { z } from 'zod';

// Placeholder: the collectors section's schema is filled in by its feature.
export const collectorsSections = {} satisfies Record<string, z.ZodType>;
