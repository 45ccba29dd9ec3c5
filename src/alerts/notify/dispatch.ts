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

export class AggrGroup {
  readonly alerts = new Map<string, StoredAlert>();
  private timer: Timer | undefined;
  private hasFlushed = false;
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
  ) {
    this.schedule(route.opts.groupWait);
  }

  insert(a: StoredAlert, now: number): void {
    this.alerts.set(a.fingerprint, a);
    // An alert that started long enough ago does not wait for group_wait (Alertmanager does the same).
    if (!this.hasFlushed && a.startsAt + this.route.opts.groupWait <= now) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.clock.clearTimeout(this.timer);
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

  constructor(
    private readonly root: Route,
    private readonly flushFn: FlushFn,
    private readonly clock: Clock,
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
          },
          this.clock,
        );
        this.groups.set(id, g);
      }
      g.insert(a, now);
    }
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

  async stop(): Promise<void> {
    const gs = [...this.groups.values()];
    for (const g of gs) g.stop();
    await Promise.all(gs.map((g) => g.idle()));
    this.groups.clear();
  }
}
