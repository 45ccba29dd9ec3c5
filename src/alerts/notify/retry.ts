/**
 * Retries a send with exponential backoff and jitter, honouring Retry-After on
 * 429, until it succeeds, fails permanently, or the time budget is spent.
 */
import type { Logger } from '../../logger.js';
import { systemClock, type Clock } from './clock.js';
import { NotifyError } from './types.js';

export interface RetryOptions {
  maxElapsedMs: number;
  initialMs?: number;
  maxBackoffMs?: number;
  logger?: Logger;
  what?: string;
  /** Stop early (shutdown). */
  signal?: AbortSignal;
  onAttemptFailed?: (err: NotifyError) => void;
  /** Time source for backoff waits (tests move a manual clock). */
  clock?: Clock;
}

export async function withRetry(fn: () => Promise<void>, o: RetryOptions): Promise<number> {
  const clock = o.clock ?? systemClock;
  const start = clock.now();
  let backoff = o.initialMs ?? 100;
  const maxBackoff = o.maxBackoffMs ?? 30_000;
  for (let attempt = 1; ; attempt++) {
    try {
      await fn();
      return attempt;
    } catch (err) {
      // Shut down while waiting for a send slot: no attempt was made, so none is counted as failed.
      if (o.signal?.aborted && err === o.signal.reason) throw new NotifyError(`${o.what ?? 'send'} abandoned: shutting down`, true);
      const e = err instanceof NotifyError ? err : new NotifyError((err as Error).message, true);
      o.onAttemptFailed?.(e);
      const elapsed = clock.now() - start;
      const wait = e.retryAfterMs !== undefined ? Math.max(e.retryAfterMs, 0) : backoff * (0.75 + Math.random() * 0.5);
      if (!e.retry || o.signal?.aborted || elapsed + wait > o.maxElapsedMs) {
        throw new NotifyError(`${o.what ?? 'send'} failed after ${attempt} attempt(s): ${e.message}`, e.retry);
      }
      o.logger?.warn({ attempt, waitMs: Math.round(wait), err: e.message }, `${o.what ?? 'send'} failed, retrying`);
      await clock.sleep(wait, o.signal);
      // Shutting down: no further attempt, the next start retries from the notification log.
      if (o.signal?.aborted) throw new NotifyError(`${o.what ?? 'send'} failed after ${attempt} attempt(s): ${e.message}`, e.retry);
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  }
}
