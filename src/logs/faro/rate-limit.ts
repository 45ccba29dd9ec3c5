/**
 * Token bucket per client (requests per second with a burst), like Alloy's
 * faro.receiver rate limiting but keyed by client address so one noisy
 * browser cannot starve the others. The client table is bounded.
 */
export class ClientRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly maxClients = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  allow(client: string): boolean {
    if (this.rate <= 0) return true;
    const t = this.now();
    let b = this.buckets.get(client);
    if (!b) {
      if (this.buckets.size >= this.maxClients) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      b = { tokens: Math.max(1, this.burst), at: t };
    } else {
      this.buckets.delete(client); // re-insert: Map order doubles as LRU order
      b.tokens = Math.min(Math.max(1, this.burst), b.tokens + ((t - b.at) / 1000) * this.rate);
      b.at = t;
    }
    this.buckets.set(client, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
