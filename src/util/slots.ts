/**
 * A counting semaphore: at most `size` tasks run at once, the rest wait in
 * order. A bounded queue refuses excess waiters (`onFull`) rather than
 * buffering them forever; a waiter whose signal aborts leaves the queue.
 */
import { onAbort } from './abort.js';

interface Waiter {
  go: () => void;
  gone: boolean;
}

export class Slots {
  private busy = 0;
  private queue: Waiter[] = [];
  private head = 0;
  private queued = 0;

  constructor(
    private readonly size: number,
    private readonly maxQueued = Infinity,
    private readonly onFull: (busy: number, waiting: number) => Error = (b, w) => new Error(`too many tasks (${b} running, ${w} waiting)`),
  ) {}

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.busy >= this.size) {
      if (this.queued >= this.maxQueued) throw this.onFull(this.busy, this.queued);
      await this.wait(signal);
    } else this.busy++;
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private release(): void {
    while (this.head < this.queue.length) {
      const w = this.queue[this.head++];
      if (w.gone) continue;
      this.queued--;
      // The slot passes straight to the next waiter, so `busy` stays the same.
      w.go();
      this.compact();
      return;
    }
    this.busy--;
    this.compact();
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private wait(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        go: () => {
          forget?.();
          resolve();
        },
        gone: false,
      };
      // Aborted waiters stay in the array, marked, so a mass abort costs O(n), not O(n^2).
      const forget = signal
        ? onAbort(signal, () => {
            w.gone = true;
            this.queued--;
            reject(signal.reason);
          })
        : undefined;
      this.queue.push(w);
      this.queued++;
    });
  }
}
