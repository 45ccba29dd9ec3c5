/**
 * SLO files: Sloth's `prometheus/v1` format (what teams already write), plus a
 * `latency` SLI that builds the error and total queries from a classic
 * histogram's buckets. Validated strictly: unknown fields, an objective outside
 * (0, 100) and a query that does not parse are errors naming file, line and field.
 */
import { z } from 'zod';
import { ConfigError } from '../../config/errors.js';
import { loadYamlFile, parseYamlText } from '../../config/yaml-file.js';
import { parseExpr } from '../../promql/parser.js';

/** Sloth writes `{{.window}}` where the generator puts each window's range. */
export const WINDOW_PLACEHOLDER = /\{\{\s*\.window\s*\}\}/g;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SLO_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/;
const ALERT_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const labelMap = z.record(z.string().regex(LABEL_NAME, 'must be a valid label name'), z.string()).default({});

function windowedQuery(field: string) {
  return z
    .string()
    .min(1, 'must not be empty')
    .max(16_384, 'query too long')
    .superRefine((q, ctx) => {
      if (field !== 'error_ratio_query' && !WINDOW_PLACEHOLDER.test(q)) {
        WINDOW_PLACEHOLDER.lastIndex = 0;
        ctx.addIssue({ code: 'custom', message: 'must contain {{.window}} in its range selector' });
        return;
      }
      WINDOW_PLACEHOLDER.lastIndex = 0;
      try {
        parseExpr(q.replace(WINDOW_PLACEHOLDER, '5m'));
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `invalid PromQL: ${(err as Error).message}` });
      }
    });
}

const eventsSli = z
  .object({
    error_query: windowedQuery('error_query'),
    total_query: windowedQuery('total_query'),
  })
  .strict();

const rawSli = z.object({ error_ratio_query: windowedQuery('error_ratio_query') }).strict();

const selector = z
  .string()
  .max(4096)
  .default('')
  .superRefine((s, ctx) => {
    if (s === '') return;
    if (!/^\{.*\}$/s.test(s.trim())) {
      ctx.addIssue({ code: 'custom', message: 'must be a label selector such as {job="api"}' });
      return;
    }
    try {
      parseExpr(`m${s}`);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `invalid selector: ${(err as Error).message}` });
    }
  });

const latencySli = z
  .object({
    /** Histogram base name: `<metric>_bucket` and `<metric>_count` are read. */
    metric: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a metric name'),
    selector,
    /** Upper bound counted as good, in seconds; must be one of the histogram's `le` values. */
    threshold: z.number().positive('must be positive').finite(),
  })
  .strict();

const alertLevel = z
  .object({
    disable: z.boolean().default(false),
    labels: labelMap,
    annotations: labelMap,
  })
  .strict();

const sloSchema = z
  .object({
    name: z.string().regex(SLO_NAME, 'must be letters, digits, "-" or "_"'),
    objective: z
      .number()
      .refine((n) => n > 0 && n < 100, 'must be between 0 and 100 (exclusive), e.g. 99.9'),
    description: z.string().default(''),
    labels: labelMap,
    sli: z
      .object({ events: eventsSli.optional(), raw: rawSli.optional(), latency: latencySli.optional() })
      .strict()
      .superRefine((s, ctx) => {
        const n = Number(!!s.events) + Number(!!s.raw) + Number(!!s.latency);
        if (n !== 1) ctx.addIssue({ code: 'custom', message: 'needs exactly one of events, raw or latency' });
      }),
    alerting: z
      .object({
        name: z.string().regex(ALERT_NAME, 'must be a valid alert name'),
        labels: labelMap,
        annotations: labelMap,
        page_alert: alertLevel.default({ disable: false, labels: {}, annotations: {} }),
        ticket_alert: alertLevel.default({ disable: false, labels: {}, annotations: {} }),
      })
      .strict(),
  })
  .strict();

export const sloFileSchema = z
  .object({
    version: z.literal('prometheus/v1', { message: 'must be "prometheus/v1"' }),
    service: z.string().regex(SLO_NAME, 'must be letters, digits, "-" or "_"'),
    labels: labelMap,
    slos: z.array(sloSchema).min(1, 'must list at least one SLO').max(1000),
  })
  .strict()
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.slos.forEach((s, i) => {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: ['slos', i, 'name'], message: `duplicate SLO name "${s.name}"` });
      seen.add(s.name);
    });
  });

export type SloFile = z.output<typeof sloFileSchema>;
export type SloSpec = SloFile['slos'][number];

/** Largest SLO file read. */
export const MAX_SLO_FILE_BYTES = 1024 * 1024;

export function loadSloFile(file: string): SloFile {
  return loadYamlFile(file, sloFileSchema, { interpolate: false });
}

export function parseSloText(text: string, file: string): SloFile {
  if (text.length > MAX_SLO_FILE_BYTES) {
    throw new ConfigError(file, [{ path: '', message: `file too large (${text.length} bytes, limit ${MAX_SLO_FILE_BYTES})` }]);
  }
  return parseYamlText(text, file, sloFileSchema, { interpolate: false });
}
