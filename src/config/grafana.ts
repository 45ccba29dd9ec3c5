import { z } from 'zod';

/**
 * `grafana:` in vigil.yml: where `vigil dashboards push --config FILE` uploads
 * to, and the runbook base the dashboards link to. The service-account token
 * is read from GRAFANA_TOKEN only, never from a file.
 */
export const grafanaSchema = z
  .object({
    /** Grafana base URL, e.g. http://grafana:3000. */
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    /** Folder the dashboards are pushed into. */
    folder: z.string().min(1).max(255).default('Vigil'),
    /** Where docs/runbooks/ is published; panels link to <base>/<AlertName>.md. */
    runbook_base_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  })
  .strict();

export type GrafanaConfig = z.output<typeof grafanaSchema>;

export const grafanaSections = {
  grafana: grafanaSchema.default({ folder: 'Vigil' }),
} satisfies Record<string, z.ZodType>;
