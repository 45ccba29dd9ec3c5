import type { JobConfig } from '../config/jobs.js';
import type { Logger } from '../logger.js';
import type { QueryEngine } from '../promql/types.js';
import type { Registry } from 'prom-client';
import { digestJob, type SendNotice } from './digest.js';
import { pgBackupJob } from './pg-backup.js';
import { retentionJob } from './retention.js';
import { JobScheduler } from './scheduler.js';
import type { JobDefinition } from './types.js';

export { JobScheduler } from './scheduler.js';
export type { JobDefinition, RunResult } from './types.js';
export { jobsApiRoutes } from './api.js';

export interface JobsOptions {
  jobs: Record<string, JobConfig>;
  baseDir: string;
  dataDir: string;
  engine: QueryEngine;
  registry: Registry;
  logger: Logger;
  /** Notification receivers, for jobs that send (the digest). */
  notice?: SendNotice;
}

/** Builds the scheduler with one job per enabled entry of `jobs:`. */
export function createJobs(opts: JobsOptions): JobScheduler {
  const defs: JobDefinition[] = [];
  const backups = () =>
    scheduler.list().filter((j) => j.kind === 'pg_backup').map((j) => ({ job: j.name, lastSuccess: j.lastSuccess, lastError: j.lastError }));
  for (const [name, cfg] of Object.entries(opts.jobs)) {
    if (!cfg.enabled) continue;
    switch (cfg.type) {
      case 'pg_backup':
        defs.push(pgBackupJob(name, cfg, opts.baseDir));
        break;
      case 'retention':
        defs.push(retentionJob(name, cfg, opts.baseDir));
        break;
      case 'digest':
        defs.push(digestJob(name, cfg, { engine: opts.engine, backups, notice: opts.notice }));
        break;
    }
  }
  const scheduler: JobScheduler = new JobScheduler({ jobs: defs, dataDir: opts.dataDir, registry: opts.registry, logger: opts.logger.child({ component: 'jobs' }) });
  return scheduler;
}
