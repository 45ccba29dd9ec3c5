import { join } from 'node:path';
import type { ScheduledTask } from 'node-cron';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Component } from '../component.js';
import type { Logger } from '../logger.js';
import { JobStateFile } from './state.js';
import type { JobDefinition, RunReason, RunResult } from './types.js';
import { lazyRequire } from '../util/lazy-require.js';

// Loaded when the first job is scheduled: most servers have none.
const cron = lazyRequire<typeof import('node-cron')>('node-cron');

export interface SchedulerOptions {
  jobs: JobDefinition[];
  dataDir: string;
  registry: Registry;
  logger: Logger;
  /** How far back a missed run is looked for at start-up. */
  catchUpWindowMs?: number;
  now?: () => number;
}

/** Metric name prefix for each job kind's own figures (`vigil_backup_size_bytes`). */
const FIGURE_PREFIX: Record<string, string> = { pg_backup: 'vigil_backup_', retention: 'vigil_retention_', digest: 'vigil_digest_' };

/**
 * Runs jobs on their cron schedules inside Vigil. A job never runs twice at
 * once (a scheduled or manual run while one is in progress is refused), a run
 * missed while Vigil was down runs once at start-up when the job asks for it,
 * and each job's history survives restarts so its metrics do too.
 */
export class JobScheduler implements Component {
  readonly name = 'jobs';
  private readonly jobs = new Map<string, JobDefinition>();
  private readonly tasks: ScheduledTask[] = [];
  private readonly running = new Map<string, { controller: AbortController; done: Promise<RunResult> }>();
  private readonly state: JobStateFile;
  private readonly now: () => number;
  private readonly figureGauges = new Map<string, Gauge>();
  private readonly m: {
    lastRun: Gauge;
    lastSuccess: Gauge;
    duration: Gauge;
    failures: Counter;
    runs: Counter;
    consecutive: Gauge;
    runningG: Gauge;
    info: Gauge;
    firstSeen: Gauge;
  };

  constructor(private readonly opts: SchedulerOptions) {
    for (const j of opts.jobs) this.jobs.set(j.name, j);
    this.now = opts.now ?? Date.now;
    this.state = new JobStateFile(join(opts.dataDir, 'jobs', 'state.json'), opts.logger);
    const r = [opts.registry];
    this.m = {
      lastRun: new Gauge({ name: 'vigil_job_last_run_timestamp_seconds', help: 'Start time of the last run of the job.', labelNames: ['job_name'], registers: r }),
      lastSuccess: new Gauge({ name: 'vigil_job_last_success_timestamp_seconds', help: 'Start time of the last successful run of the job.', labelNames: ['job_name'], registers: r }),
      duration: new Gauge({ name: 'vigil_job_duration_seconds', help: 'Duration of the last run of the job.', labelNames: ['job_name'], registers: r }),
      failures: new Counter({ name: 'vigil_job_failures_total', help: 'Failed runs of the job.', labelNames: ['job_name'], registers: r }),
      runs: new Counter({ name: 'vigil_job_runs_total', help: 'Runs of the job by outcome.', labelNames: ['job_name', 'outcome', 'reason'], registers: r }),
      consecutive: new Gauge({ name: 'vigil_job_consecutive_failures', help: 'Failed runs of the job since its last success.', labelNames: ['job_name'], registers: r }),
      runningG: new Gauge({ name: 'vigil_job_running', help: '1 while the job runs.', labelNames: ['job_name'], registers: r }),
      info: new Gauge({ name: 'vigil_job_info', help: 'Configured jobs: kind and schedule.', labelNames: ['job_name', 'kind', 'schedule', 'timezone'], registers: r }),
      firstSeen: new Gauge({ name: 'vigil_job_first_seen_timestamp_seconds', help: 'When the job was first configured.', labelNames: ['job_name'], registers: r }),
    };
  }

  async start(): Promise<void> {
    this.state.load();
    const now = this.now();
    for (const job of this.jobs.values()) {
      const s = this.state.get(job.name, now);
      this.m.failures.inc({ job_name: job.name }, 0);
      this.m.consecutive.set({ job_name: job.name }, s.consecutiveFailures);
      this.m.runningG.set({ job_name: job.name }, 0);
      this.m.info.set({ job_name: job.name, kind: job.kind, schedule: job.schedule, timezone: job.timezone }, 1);
      this.m.firstSeen.set({ job_name: job.name }, s.firstSeen / 1000);
      if (s.lastRun) this.m.lastRun.set({ job_name: job.name }, s.lastRun / 1000);
      if (s.lastSuccess) this.m.lastSuccess.set({ job_name: job.name }, s.lastSuccess / 1000);
      if (s.lastDurationMs !== undefined) this.m.duration.set({ job_name: job.name }, s.lastDurationMs / 1000);
      for (const [k, v] of Object.entries(s.extra ?? {})) this.setFigure(job, k, v);
    }
    await this.state.save();

    for (const job of this.jobs.values()) {
      const task = cron().createTask(job.schedule, () => void this.runNow(job.name, 'scheduled'), {
        timezone: job.timezone,
        name: job.name,
        noOverlap: true,
        suppressMissedWarning: true,
      });
      this.tasks.push(task);
      await task.start();
      if (job.catchUp) {
        const missed = this.missedRun(job, task, now);
        if (missed !== undefined) {
          this.opts.logger.info({ job: job.name, missed: new Date(missed).toISOString() }, 'running missed job');
          void this.runNow(job.name, 'catch-up');
        }
      }
    }
  }

  async stop(): Promise<void> {
    for (const t of this.tasks.splice(0)) await t.destroy();
    const pending = [...this.running.values()];
    for (const r of pending) r.controller.abort(new Error('Vigil is shutting down'));
    await Promise.all(pending.map((r) => r.done));
  }

  list(): Array<{ name: string; kind: string; schedule: string; timezone: string; running: boolean; lastRun?: string; lastSuccess?: string; lastError?: string; nextRun?: string }> {
    const now = this.now();
    return [...this.jobs.values()].map((j) => {
      const s = this.state.get(j.name, now);
      const task = this.tasks.find((t) => t.name === j.name);
      const next = task?.getNextRun();
      return {
        name: j.name,
        kind: j.kind,
        schedule: j.schedule,
        timezone: j.timezone,
        running: this.running.has(j.name),
        lastRun: s.lastRun ? new Date(s.lastRun).toISOString() : undefined,
        lastSuccess: s.lastSuccess ? new Date(s.lastSuccess).toISOString() : undefined,
        lastError: s.lastError,
        nextRun: next ? next.toISOString() : undefined,
      };
    });
  }

  /** Starts a run now unless one is in progress; resolves when it ends. */
  runNow(name: string, reason: RunReason = 'manual'): Promise<RunResult> {
    const job = this.jobs.get(name);
    if (!job) return Promise.resolve({ job: name, status: 'unknown_job', message: `no job named "${name}"` });
    if (this.running.has(name)) {
      this.m.runs.inc({ job_name: name, outcome: 'skipped_overlap', reason });
      return Promise.resolve({ job: name, status: 'already_running', reason, message: 'a run of this job is in progress' });
    }
    const controller = new AbortController();
    const done = this.execute(job, reason, controller).finally(() => this.running.delete(name));
    this.running.set(name, { controller, done });
    return done;
  }

  private async execute(job: JobDefinition, reason: RunReason, controller: AbortController): Promise<RunResult> {
    const started = this.now();
    const s = this.state.get(job.name, started);
    const log = this.opts.logger.child({ job: job.name, reason });
    const timer = setTimeout(() => controller.abort(new Error(`timed out after ${job.timeoutMs}ms`)), job.timeoutMs);
    this.m.runningG.set({ job_name: job.name }, 1);
    this.m.lastRun.set({ job_name: job.name }, started / 1000);
    s.lastRun = started;
    const figures: Record<string, number> = {};
    let result: RunResult;
    try {
      log.info('job started');
      const message = await job.run({ signal: controller.signal, reason, logger: log, record: (f) => Object.assign(figures, f) });
      if (controller.signal.aborted) throw controller.signal.reason;
      s.lastSuccess = started;
      s.consecutiveFailures = 0;
      s.lastError = undefined;
      this.m.lastSuccess.set({ job_name: job.name }, started / 1000);
      this.m.runs.inc({ job_name: job.name, outcome: 'success', reason });
      result = { job: job.name, status: 'success', reason, message: message || 'ok' };
      log.info({ message }, 'job succeeded');
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      s.consecutiveFailures++;
      s.lastError = msg;
      this.m.failures.inc({ job_name: job.name });
      this.m.runs.inc({ job_name: job.name, outcome: 'failure', reason });
      result = { job: job.name, status: 'failure', reason, message: msg };
      log.error({ err: msg }, 'job failed');
    } finally {
      clearTimeout(timer);
    }
    const duration = this.now() - started;
    s.lastDurationMs = duration;
    s.extra = { ...(s.extra ?? {}), ...figures };
    for (const [k, v] of Object.entries(figures)) this.setFigure(job, k, v);
    this.m.duration.set({ job_name: job.name }, duration / 1000);
    this.m.consecutive.set({ job_name: job.name }, s.consecutiveFailures);
    this.m.runningG.set({ job_name: job.name }, 0);
    try {
      await this.state.save();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'cannot save job state');
    }
    return { ...result, startedAt: new Date(started).toISOString(), durationMs: duration };
  }

  private setFigure(job: JobDefinition, figure: string, value: number): void {
    const name = `${FIGURE_PREFIX[job.kind] ?? `vigil_${job.kind}_`}${figure}`;
    let g = this.figureGauges.get(name);
    if (!g) {
      g = new Gauge({ name, help: `Job figure ${figure} of ${job.kind} jobs.`, labelNames: ['job_name'], registers: [this.opts.registry] });
      this.figureGauges.set(name, g);
    }
    g.set({ job_name: job.name }, value);
  }

  /** The latest scheduled time before `now` that the job did not run for, if any. */
  private missedRun(job: JobDefinition, task: ScheduledTask, now: number): number | undefined {
    const s = this.state.get(job.name, now);
    const since = s.lastRun ?? s.firstSeen;
    const window = this.opts.catchUpWindowMs ?? 31 * 24 * 3600_000;
    const floor = Math.max(since, now - window);
    // Minute resolution: schedules of these jobs are minutes apart at the least.
    let t = Math.floor(now / 60_000) * 60_000;
    if (t === now) t -= 60_000;
    for (; t > floor; t -= 60_000) {
      if (task.match(new Date(t))) return t;
    }
    return undefined;
  }
}
