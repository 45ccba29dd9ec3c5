import { z } from 'zod';
import { alertingSections } from './alerting.js';
import { collectorsSections, scrapeProtocolFields } from './collectors.js';
import { discoverySections } from './discovery.js';
import { grafanaSections } from './grafana.js';
import { jobsSections } from './jobs.js';
import { logsSections } from './logs.js';
import { checkStorageMode, remoteSections, storageModeReadable } from './remote.js';
import { rulesSections } from './rules.js';
import { byteSize, durationMs, labelSet, optionalString } from './types.js';

/**
 * vigil.yml. Blocks that mirror Prometheus (`global`, `scrape_configs`,
 * `rule_files`) accept what Prometheus accepts for those keys; each feature owns
 * the schema of its own sections (the files imported above).
 */
export const globalSchema = z
  .object({
    scrape_interval: durationMs.default(60_000),
    scrape_timeout: durationMs.default(10_000),
    evaluation_interval: durationMs.default(60_000),
    external_labels: labelSet.default({}),
    // Accepted for Prometheus compatibility; Vigil has no query log.
    query_log_file: z.string().optional(),
    body_size_limit: byteSize.optional(),
    sample_limit: z.number().int().nonnegative().optional(),
    ...scrapeProtocolFields,
  })
  .strict()
  .refine((g) => g.scrape_timeout <= g.scrape_interval, {
    message: 'scrape_timeout must not be greater than scrape_interval',
    path: ['scrape_timeout'],
  });

export const serverSchema = z
  .object({
    /** host:port to listen on. */
    listen: z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]*):\d{1,5}$/, 'must be host:port').default('127.0.0.1:9470'),
    /** Bearer token required by endpoints that change state or accept data. */
    token: optionalString,
    /** Largest accepted request body. */
    body_limit: byteSize.default(1024 * 1024),
    /** URL under which users reach Vigil (links in alerts and dashboards). */
    external_url: z.string().url().optional(),
    /** SIGTERM/SIGINT: time to flush; what cannot be sent by then is spooled to disk and the process exits. */
    shutdown_timeout: durationMs.default(10_000),
  })
  .strict();

export const storageSchema = z
  .object({
    path: z.string().default('data'),
    retention: durationMs.default(15 * 24 * 3600_000),
    /** Flush the write-ahead log every N ms; 0 = on every commit. */
    wal_flush_interval: durationMs.default(0),
    /** Write closed head chunks to a block and start a new WAL segment this often (also once the WAL passes 64 MiB). */
    checkpoint_interval: durationMs.refine((ms) => ms >= 1000, 'must be at least 1s').default(15 * 60_000),
    /** `agent`: WAL only, for remote write; no local query store (rules and queries need query_backend). */
    mode: z.enum(['server', 'agent']).default('server'),
    /** Second retention bound: oldest blocks go while blocks + WAL exceed this many bytes; 0 = no size bound. */
    retention_size: byteSize.default(0),
    /** Cap on series (head and blocks); new series beyond it are refused with an error and counted. */
    max_series: z.number().int().positive().default(2_000_000),
    /** Memory for decoded chunks kept between queries. */
    chunk_cache_size: byteSize.default(64 * 1024 * 1024),
  })
  .strict();

export const configSchema = z
  .object({
    global: globalSchema.default(globalSchema.parse({})),
    server: serverSchema.default(serverSchema.parse({})),
    storage: storageSchema.default(storageSchema.parse({})),
    ...collectorsSections,
    ...discoverySections,
    ...rulesSections,
    ...alertingSections,
    ...logsSections,
    ...jobsSections,
    ...grafanaSections,
    ...remoteSections,
  })
  .strict()
  .superRefine(checkStorageMode, { when: storageModeReadable });

export type VigilConfig = z.output<typeof configSchema>;
