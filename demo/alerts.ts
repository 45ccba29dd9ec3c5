/**
 * Polls Vigil's GET /api/v1/alerts and prints each alert's transitions:
 * pending, firing, and resolved (gone from the active list after firing).
 */
import { c, log } from './console.js';

type State = 'pending' | 'firing' | 'resolved';
interface ApiAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

const IDENTITY = ['alertname', 'severity', 'endpoint', 'method', 'status', 'instance'];

export class AlertWatcher {
  private timer?: NodeJS.Timeout;
  private readonly known = new Map<string, ApiAlert>();
  private readonly reachedStates = new Map<string, Set<State>>();
  private polling = false;

  constructor(private readonly vigilUrl: string, private readonly intervalMs = 500) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Whether any alert of this name has been in `state`. */
  reached(alertname: string, state: State): boolean {
    return this.reachedStates.get(alertname)?.has(state) ?? false;
  }

  private mark(a: ApiAlert, state: State): void {
    const name = a.labels.alertname;
    if (!this.reachedStates.has(name)) this.reachedStates.set(name, new Set());
    this.reachedStates.get(name)!.add(state);
  }

  private describe(a: ApiAlert): string {
    const labels = Object.entries(a.labels)
      .filter(([k]) => IDENTITY.includes(k) && k !== 'alertname')
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return `${c.bold(a.labels.alertname)} {${labels}}`;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const res = await fetch(`${this.vigilUrl}/api/v1/alerts`);
      if (!res.ok) return;
      const alerts = ((await res.json()) as { data: { alerts: ApiAlert[] } }).data.alerts;
      const seen = new Set<string>();
      for (const a of alerts) {
        const key = JSON.stringify(Object.entries(a.labels).sort());
        seen.add(key);
        const before = this.known.get(key);
        this.known.set(key, a);
        if (before?.state === a.state) continue;
        this.mark(a, a.state);
        const value = Number(a.value).toFixed(3);
        if (a.state === 'pending') log('alert', `${c.yellow('PENDING')}  ${this.describe(a)} value=${value}, active since ${a.activeAt.slice(11, 19)}`);
        else log('alert', `${c.red(c.bold('FIRING'))}   ${this.describe(a)} value=${value}, active since ${a.activeAt.slice(11, 19)}`);
      }
      for (const [key, a] of this.known) {
        if (seen.has(key)) continue;
        this.known.delete(key);
        if (a.state === 'firing') {
          this.mark(a, 'resolved');
          log('alert', `${c.green(c.bold('RESOLVED'))} ${this.describe(a)}`);
        } else log('alert', `${c.dim('cleared')}  ${this.describe(a)} (was pending, never fired)`);
      }
    } catch {
      // Vigil is stopping; the next poll or the caller's timeout decides.
    } finally {
      this.polling = false;
    }
  }
}
