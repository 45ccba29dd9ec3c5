import type { Discoverer, DiscoveryContext, TargetGroup } from './types.js';

/**
 * A provider whose module loads when it starts: some pull in large clients
 * (the Kubernetes one costs tens of MB) that a server without that kind of
 * discovery should not carry.
 */
export class LazyDiscoverer implements Discoverer {
  private inner: Discoverer | undefined;
  private loading: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly load: () => Promise<Discoverer>,
    private readonly ctx: DiscoveryContext,
  ) {}

  start(emit: (groups: TargetGroup[]) => void): void {
    this.loading = this.load().then(
      (d) => {
        if (this.stopped) return;
        this.inner = d;
        d.start(emit);
      },
      (err: unknown) => {
        this.ctx.reportError(`cannot load the provider: ${(err as Error).message}`);
        this.ctx.logger.error({ error: (err as Error).message }, 'discovery: cannot load the provider');
      },
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loading;
    await this.inner?.stop();
  }
}
