import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../logger.js';
import { writeFileAtomic } from '../util/atomic-file.js';

/** What Vigil remembers of each job across restarts (ms timestamps). */
export interface JobState {
  firstSeen: number;
  lastRun?: number;
  lastSuccess?: number;
  lastDurationMs?: number;
  lastError?: string;
  consecutiveFailures: number;
  /** Kind-specific figures restored into metrics at start (e.g. backup size). */
  extra?: Record<string, number>;
}

export class JobStateFile {
  private states: Record<string, JobState> = {};
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly logger: Logger,
  ) {}

  load(): void {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return; // first start
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) this.states = parsed as Record<string, JobState>;
      else throw new Error('not a JSON object');
    } catch (err) {
      // A damaged state file costs the history, never the scheduler.
      this.logger.error({ file: this.file, err: (err as Error).message }, 'job state file is corrupt; starting with empty history');
      this.states = {};
    }
  }

  get(name: string, now: number): JobState {
    return (this.states[name] ??= { firstSeen: now, consecutiveFailures: 0 });
  }

  /** Saves are chained: two jobs ending together must not share the temp file. */
  save(): Promise<void> {
    const write = async () => {
      mkdirSync(dirname(this.file), { recursive: true });
      await writeFileAtomic(this.file, JSON.stringify(this.states, null, 2));
    };
    const next = this.saving.then(write, write);
    this.saving = next.catch(() => undefined);
    return next;
  }
}
