import { z } from 'zod';

// Placeholder: the logs section's schema is filled in by its feature.
export const logsSections = {} satisfies Record<string, z.ZodType>;
