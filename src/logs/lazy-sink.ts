import type { LogEvent } from './event.js';
import type { Sink } from './sink.js';

/**
 * A sink whose module loads on first use: the Elasticsearch client costs
 * about 30 MB that a server shipping to the local file never needs.
 */
export class LazySink implements Sink {
  private inner: Promise<Sink> | undefined;

  constructor(
    readonly name: string,
    private readonly load: () => Promise<Sink>,
  ) {}

  private sink(): Promise<Sink> {
    // A failed load is tried again on the next call, as a failed send is.
    return (this.inner ??= this.load().catch((err: unknown) => {
      this.inner = undefined;
      throw err;
    }));
  }

  async start(): Promise<void> {
    await (await this.sink()).start();
  }

  async send(events: LogEvent[]): Promise<LogEvent[]> {
    return (await this.sink()).send(events);
  }

  async close(): Promise<void> {
    if (this.inner) await (await this.inner).close();
  }
}
