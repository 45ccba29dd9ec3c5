import { ApiError } from './errors.js';

/** A counting semaphore with a bounded queue: excess waiters are refused, not buffered forever. */
export class Slots {
  private busy = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly size: number,
    private readonly maxQueued: number,
  ) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy >= this.size) {
      if (this.waiting.length >= this.maxQueued) {
        throw new ApiError('unavailable', `too many queries in flight (${this.busy} running, ${this.waiting.length} waiting); retry later`);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.busy++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `busy` stays the same.
      if (next) next();
      else this.busy--;
    }
  }
}
