/**
 * Retries a send with exponential backoff and jitter, honouring Retry-After on
 * 429, until it succeeds, fails permanently, or the time budget is spent.
 */
import type { Logger } from '../../logger.js';
import { NotifyError } from './types.js';
import { onAbort } from '../../util/abort.js';

export interface RetryOptions {
  maxElapsedMs: number;
  initialMs?: number;
  maxBackoffMs?: number;
  logger?: Logger;
  what?: string;
  /** Stop early (shutdown). */
  signal?: AbortSignal;
  onAttemptFailed?: (err: NotifyError) => void;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    const forget = signal ? onAbort(signal, done) : undefined;
    function done() {
      clearTimeout(t);
      forget?.();
      resolve();
    }
  });

export async function withRetry(fn: () => Promise<void>, o: RetryOptions): Promise<number> {
  const start = Date.now();
  let backoff = o.initialMs ?? 100;
  const maxBackoff = o.maxBackoffMs ?? 30_000;
  for (let attempt = 1; ; attempt++) {
    try {
      await fn();
      return attempt;
    } catch (err) {
      const e = err instanceof NotifyError ? err : new NotifyError((err as Error).message, true);
      o.onAttemptFailed?.(e);
      const elapsed = Date.now() - start;
      const wait = e.retryAfterMs !== undefined ? Math.max(e.retryAfterMs, 0) : backoff * (0.75 + Math.random() * 0.5);
      if (!e.retry || o.signal?.aborted || elapsed + wait > o.maxElapsedMs) {
        throw new NotifyError(`${o.what ?? 'send'} failed after ${attempt} attempt(s): ${e.message}`, e.retry);
      }
      o.logger?.warn({ attempt, waitMs: Math.round(wait), err: e.message }, `${o.what ?? 'send'} failed, retrying`);
      await sleep(wait, o.signal);
      // Shutting down: no further attempt, the next start retries from the notification log.
      if (o.signal?.aborted) throw new NotifyError(`${o.what ?? 'send'} failed after ${attempt} attempt(s): ${e.message}`, e.retry);
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  }
}
