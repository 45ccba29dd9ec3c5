/**
 * Time as the notifier sees it. Production uses the system clock; tests use a
 * ManualClock and move time forward, so group_wait, group_interval, repeat
 * intervals and retry backoff run without waiting for real timers.
 */
export interface Timer {
  readonly id: number;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(t: Timer | undefined): void;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

class SystemTimer implements Timer {
  constructor(
    readonly id: number,
    readonly handle: NodeJS.Timeout,
  ) {}
}

let nextId = 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    return new SystemTimer(nextId++, setTimeout(fn, ms));
  },
  clearTimeout(t) {
    if (t instanceof SystemTimer) clearTimeout(t.handle);
  },
  sleep(ms, signal) {
    return sleepOn(this, ms, signal);
  },
};

function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = clock.setTimeout(done, ms);
    function done() {
      clock.clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

interface Pending {
  id: number;
  at: number;
  fn: () => void;
}

/** A clock that only moves when told to; due timers fire in time order. */
export class ManualClock implements Clock {
  private t: number;
  private timers: Pending[] = [];

  constructor(start = Date.UTC(2026, 0, 5, 12, 0, 0)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const p = { id: nextId++, at: this.t + Math.max(0, ms), fn };
    this.timers.push(p);
    return { id: p.id };
  }

  clearTimeout(t: Timer | undefined): void {
    if (t) this.timers = this.timers.filter((p) => p.id !== t.id);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.length;
  }

  /**
   * Moves time forward by `ms`, firing each due timer at its own instant and
   * letting the work it starts run (I/O included) before the next one fires.
   */
  async advance(ms: number, settle: () => Promise<void> = () => new Promise((r) => setImmediate(r))): Promise<void> {
    const target = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
      await settle();
    }
    this.t = target;
    await settle();
  }
}
