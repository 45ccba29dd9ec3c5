import { z } from 'zod';

// Placeholder: the grafana section's schema is filled in by its feature.
export const grafanaSections = {} satisfies Record<string, z.ZodType>;
