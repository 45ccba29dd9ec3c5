import type { Logger } from '../logger.js';

export type RunReason = 'scheduled' | 'manual' | 'catch-up';

export interface JobRunContext {
  readonly signal: AbortSignal;
  readonly reason: RunReason;
  readonly logger: Logger;
  /** Figures the job wants kept as metrics and across restarts (e.g. `size_bytes`). */
  record(figures: Record<string, number>): void;
}

/** One scheduled operation. `run` throws to report failure. */
export interface JobDefinition {
  readonly name: string;
  readonly kind: string;
  readonly schedule: string;
  readonly timezone: string;
  readonly catchUp: boolean;
  readonly timeoutMs: number;
  run(ctx: JobRunContext): Promise<string | void>;
}

export interface RunResult {
  job: string;
  status: 'success' | 'failure' | 'already_running' | 'unknown_job';
  reason?: RunReason;
  startedAt?: string;
  durationMs?: number;
  /** Summary line from the job, or the error message. */
  message?: string;
}
