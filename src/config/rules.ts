import { z } from 'zod';

// Placeholder: the rules section's schema is filled in by its feature.
export const rulesSections = {} satisfies Record<string, z.ZodType>;
