import type { Discoverer, Refreshable, TargetGroup } from './types.js';

/**
 * A provider that polls (DNS, HTTP): every `intervalMs` it asks `load` for the
 * complete list of groups. A failed refresh keeps the previous groups, as
 * Prometheus does; sources that vanish from a successful answer are sent as
 * empty groups so their targets end.
 */
export class RefreshDiscoverer implements Discoverer, Refreshable {
  private timer: NodeJS.Timeout | undefined;
  private emit: ((groups: TargetGroup[]) => void) | undefined;
  private sources = new Set<string>();
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly load: () => Promise<TargetGroup[]>,
    private readonly onError: (error: string | undefined) => void,
  ) {}

  start(emit: (groups: TargetGroup[]) => void): void {
    this.emit = emit;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
  }

  /** One refresh now; concurrent calls share the one in flight. */
  refresh(): Promise<void> {
    this.running ??= this.doRefresh().finally(() => (this.running = undefined));
    return this.running;
  }

  private async doRefresh(): Promise<void> {
    let groups: TargetGroup[];
    try {
      groups = await this.load();
    } catch (err) {
      this.onError((err as Error).message);
      return;
    }
    if (this.stopped) return;
    this.onError(undefined);
    const next = new Set(groups.map((g) => g.source));
    const gone = [...this.sources].filter((s) => !next.has(s)).map((source) => ({ source, targets: [], labels: {} }));
    this.sources = next;
    this.emit?.([...groups, ...gone]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }
}
