/**
 * Aggregation groups: alerts routed to the same route with the same group
 * labels wait together (group_wait), are sent together, then re-checked every
 * group_interval; the pipeline decides whether anything needs sending.
 */
import type { Clock, Timer } from './clock.js';
import { labelSetString } from './matchers.js';
import { groupLabels, matchRoutes, type Route } from './route.js';
import type { StoredAlert } from './types.js';
import type { LabelSet } from './matchers.js';

export interface GroupFlush {
  route: Route;
  groupKey: string;
  groupLabels: LabelSet;
  alerts: StoredAlert[];
}

/** Returns whether the flush fully succeeded; only then are resolved alerts dropped from the group. */
export type FlushFn = (f: GroupFlush) => Promise<boolean>;

/**
 * Where a group's timers stand, kept across restarts and reloads so a
 * restored group waits out the rest of its group_wait or group_interval
 * instead of flushing at once.
 */
export interface GroupTiming {
  createdAt: number;
  /** Unset until the first flush: the group is still in its group_wait. */
  lastFlushAt?: number;
  nextFlushAt: number;
}

export class AggrGroup {
  readonly alerts = new Map<string, StoredAlert>();
  private timer: Timer | undefined;
  private hasFlushed = false;
  private readonly createdAt: number;
  private lastFlushAt: number | undefined;
  private nextFlushAt = 0;
  private running: Promise<void> | undefined;
  /** The whole current tick (flush and rescheduling), for settle(). */
  private ticking: Promise<void> | undefined;
  private stopped = false;

  constructor(
    readonly route: Route,
    readonly groupKey: string,
    readonly labels: LabelSet,
    private readonly flushFn: FlushFn,
    private readonly onEmpty: (g: AggrGroup) => void,
    private readonly clock: Clock,
    private readonly onTiming: () => void = () => undefined,
    restored?: GroupTiming,
  ) {
    const now = clock.now();
    this.createdAt = restored?.createdAt ?? now;
    if (restored?.lastFlushAt !== undefined) {
      this.hasFlushed = true;
      this.lastFlushAt = restored.lastFlushAt;
      // A shorter group_interval since the restart applies from the last flush.
      this.schedule(Math.min(restored.nextFlushAt, restored.lastFlushAt + route.opts.groupInterval) - now);
    } else {
      this.schedule(this.createdAt + route.opts.groupWait - now);
    }
  }

  timing(): GroupTiming {
    return { createdAt: this.createdAt, lastFlushAt: this.lastFlushAt, nextFlushAt: this.nextFlushAt };
  }

  insert(a: StoredAlert, now: number): void {
    this.alerts.set(a.fingerprint, a);
    // An alert that started long enough ago does not wait for group_wait (Alertmanager does the same).
    if (!this.hasFlushed && a.startsAt + this.route.opts.groupWait <= now) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.clock.clearTimeout(this.timer);
    ms = Math.max(0, ms);
    this.nextFlushAt = this.clock.now() + ms;
    this.onTiming();
    this.timer = this.clock.setTimeout(() => {
      const t = this.tick().finally(() => {
        if (this.ticking === t) this.ticking = undefined;
      });
      this.ticking = t;
    }, ms);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.running) {
      // A flush is still sending (retries); check again when it is done.
      await this.running;
      if (this.timer || this.stopped) return;
    }
    this.running = this.flush().finally(() => (this.running = undefined));
    await this.running;
    if (this.alerts.size === 0) {
      this.stop();
      this.onEmpty(this);
      return;
    }
    this.schedule(this.route.opts.groupInterval);
  }

  private async flush(): Promise<void> {
    this.hasFlushed = true;
    this.lastFlushAt = this.clock.now();
    const snapshot = [...this.alerts.values()].sort((a, b) => (labelSetString(a.labels) < labelSetString(b.labels) ? -1 : 1));
    if (snapshot.length === 0) return;
    let ok = false;
    try {
      ok = await this.flushFn({ route: this.route, groupKey: this.groupKey, groupLabels: this.labels, alerts: snapshot });
    } catch {
      ok = false;
    }
    if (!ok) return;
    const now = this.clock.now();
    for (const a of snapshot) {
      // Drop a resolved alert only if it was not updated while we were sending.
      if (a.endsAt <= now && this.alerts.get(a.fingerprint) === a) this.alerts.delete(a.fingerprint);
    }
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Waits for a flush in progress (shutdown). */
  async idle(): Promise<void> {
    await this.running;
  }

  get busy(): boolean {
    return this.ticking !== undefined;
  }

  /** Waits for the current tick, flush and rescheduling included. */
  async settled(): Promise<void> {
    await this.ticking;
  }
}

export class Dispatcher {
  private readonly groups = new Map<string, AggrGroup>();
  private routeIds = new Map<Route, string>();
  /** Timings of groups not yet re-created since a restart or reload, by group id. */
  private restored = new Map<string, GroupTiming>();

  constructor(
    private readonly root: Route,
    private readonly flushFn: FlushFn,
    private readonly clock: Clock,
    /** Told whenever a group's timing changes (the notifier saves them). */
    private readonly onTiming: () => void = () => undefined,
  ) {
    let n = 0;
    const walk = (r: Route) => {
      this.routeIds.set(r, String(n++));
      r.routes.forEach(walk);
    };
    walk(root);
  }

  insert(a: StoredAlert, now: number): void {
    for (const route of matchRoutes(this.root, a.labels)) {
      const gl = groupLabels(route, a.labels);
      const groupKey = `${route.key}:${labelSetString(gl)}`;
      const id = `${this.routeIds.get(route)}|${groupKey}`;
      let g = this.groups.get(id);
      if (!g) {
        g = new AggrGroup(
          route,
          groupKey,
          gl,
          this.flushFn,
          (done) => {
            if (this.groups.get(id) === done) this.groups.delete(id);
            this.onTiming();
          },
          this.clock,
          this.onTiming,
          this.takeRestored(id),
        );
        this.groups.set(id, g);
      }
      g.insert(a, now);
    }
  }

  /** Group timings to take up when the same groups come back (restart, reload). */
  restoreTimings(t: Record<string, GroupTiming>): void {
    this.restored = new Map(Object.entries(t));
  }

  private takeRestored(id: string): GroupTiming | undefined {
    const t = this.restored.get(id);
    this.restored.delete(id);
    return t;
  }

  /** Every live group's timing by group id (route position and group key). */
  timings(): Record<string, GroupTiming> {
    const out: Record<string, GroupTiming> = {};
    for (const [id, g] of this.groups) out[id] = g.timing();
    return out;
  }

  allGroups(): AggrGroup[] {
    return [...this.groups.values()];
  }

  holds(fp: string): boolean {
    for (const g of this.groups.values()) if (g.alerts.has(fp)) return true;
    return false;
  }

  /** Resolves once no group is flushing (tests: nothing more is on its way). */
  async settled(): Promise<void> {
    // A finished flush may start nothing new by itself, but retry loops may chain: re-check.
    for (let i = 0; i < 100; i++) {
      const busy = [...this.groups.values()].filter((g) => g.busy);
      if (busy.length === 0) return;
      await Promise.all(busy.map((g) => g.settled()));
    }
  }

  /** Stops every group's timer at once, without waiting for flushes in progress (shutdown begins). */
  halt(): void {
    for (const g of this.groups.values()) g.stop();
  }

  async stop(): Promise<void> {
    this.halt();
    // The groups stay listed: their final timings are what a restart or reload takes up.
    await Promise.all([...this.groups.values()].map((g) => g.idle()));
  }
}
