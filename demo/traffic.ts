/**
 * Request traffic against the planning API: a steady mix of plan and task CRUD
 * ("normal"), and in the "incident" phase additionally requests to the chaos
 * routes that answer 500 or take 1.5s. Prints a short tally every 5 seconds.
 */
import { log } from './console.js';

type Phase = 'idle' | 'normal' | 'incident';

const TICK_MS = 125;
const MAX_IN_FLIGHT = 60;

export class Traffic {
  private current: Phase = 'idle';
  private phaseStart = Date.now();
  private timer?: NodeJS.Timeout;
  private reporter?: NodeJS.Timeout;
  private tick = 0;
  private inFlight = 0;
  private readonly plans: string[] = [];
  private readonly tasks: string[] = [];
  private totals = { total: 0, errors: 0, slow: 0 };
  private window = { total: 0, errors: 0, slow: 0, other: 0 };

  constructor(private readonly base: string) {}

  phase(p: Phase): void {
    this.current = p;
    this.phaseStart = Date.now();
    log('traffic', `phase: ${p}${p === 'incident' ? ' (8 req/s to /api/v1/chaos/error, 2 req/s to /api/v1/chaos/slow?ms=1500)' : ' (about 8 CRUD req/s)'}`);
    this.timer ??= setInterval(() => this.step(), TICK_MS);
    this.reporter ??= setInterval(() => this.report(), 5000);
  }

  phaseMs(): number {
    return Date.now() - this.phaseStart;
  }

  stats(): { total: number; errors: number; slow: number } {
    return { ...this.totals };
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.reporter);
    this.current = 'idle';
  }

  private report(): void {
    const w = this.window;
    log('traffic', `last 5s: ${w.total} requests, ${w.errors} answered 5xx, ${w.slow} slow (>1s)${w.other ? `, ${w.other} failed to connect` : ''}`);
    this.window = { total: 0, errors: 0, slow: 0, other: 0 };
  }

  private step(): void {
    if (this.current === 'idle') return;
    this.tick++;
    void this.send(...this.crud());
    if (this.current === 'incident') {
      void this.send('GET', '/api/v1/chaos/error');
      if (this.tick % 4 === 0) void this.send('GET', '/api/v1/chaos/slow?ms=1500');
    }
  }

  /** The next CRUD request: create plans, read them, add and complete tasks, delete old plans. */
  private crud(): [string, string, unknown?] {
    const n = this.tick % 8;
    const plan = this.plans.length ? this.plans[this.tick % this.plans.length] : undefined;
    if (!plan || n === 0) return ['POST', '/api/v1/plans', { title: `Study plan ${this.tick}`, owner: `student${this.tick % 5}`, description: 'demo' }];
    if (n === 1 || n === 2) return ['GET', `/api/v1/plans/${plan}`];
    if (n === 3) return ['GET', '/api/v1/plans?limit=20'];
    if (n === 4) return ['POST', `/api/v1/plans/${plan}/tasks`, { title: `Chapter ${this.tick}`, due_date: '2030-01-15' }];
    if (n === 5 && this.tasks.length) return ['PATCH', `/api/v1/tasks/${this.tasks.shift()}`, { done: true }];
    if (n === 6 && this.plans.length > 20) return ['DELETE', `/api/v1/plans/${this.plans.shift()}`];
    return ['PUT', `/api/v1/plans/${plan}`, { title: `Study plan ${plan} (edited)`, owner: 'student1' }];
  }

  private async send(method: string, path: string, body?: unknown): Promise<void> {
    if (this.inFlight >= MAX_IN_FLIGHT) return;
    this.inFlight++;
    const t0 = Date.now();
    try {
      const res = await fetch(`${this.base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      this.count(res.status, Date.now() - t0);
      if (res.status === 201 && method === 'POST') {
        const id = (JSON.parse(text) as { id?: string | number }).id;
        if (id !== undefined) (path.endsWith('/tasks') ? this.tasks : this.plans).push(String(id));
      }
    } catch {
      this.window.other++;
      this.window.total++;
      this.totals.total++;
    } finally {
      this.inFlight--;
    }
  }

  private count(status: number, ms: number): void {
    this.window.total++;
    this.totals.total++;
    if (status >= 500) {
      this.window.errors++;
      this.totals.errors++;
    }
    if (ms > 1000) {
      this.window.slow++;
      this.totals.slow++;
    }
  }
}
