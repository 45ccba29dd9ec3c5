/**
 * The discovery manager, as Prometheus's: one provider per `*_sd_configs`
 * entry of every scrape pool, their groups merged per pool, and the merged
 * list handed to the scrape side at most once per `updateIntervalMs` (bursts of
 * watch events become one update). A reload keeps providers whose config did
 * not change, so their targets do not flap.
 */
import type { SdConfigs } from '../config/discovery.js';
import type { Logger } from '../logger.js';
import { createDnsDiscoverer } from './dns.js';
import { FileDiscoverer } from './file.js';
import { createHttpDiscoverer } from './http.js';
import { LazyDiscoverer } from './lazy.js';
import type { Discoverer, DiscoveryContext, Refreshable, TargetGroup } from './types.js';

export interface PoolConfig extends SdConfigs {
  job_name: string;
}

export interface DiscoveryManagerOptions {
  logger: Logger;
  baseDir: string;
  /** Receives a pool's complete discovered groups whenever they changed. */
  onUpdate(pool: string, groups: TargetGroup[]): void | Promise<void>;
  /** Prometheus's default is 5s. */
  updateIntervalMs?: number;
}

export interface ProviderStatus {
  pool: string;
  provider: string;
  error?: string;
}

interface Provider {
  key: string;
  pool: string;
  name: string;
  discoverer: Discoverer;
  groups: Map<string, TargetGroup>;
  error?: string;
}

type Factory = (cfg: never, ctx: DiscoveryContext) => Discoverer;

const KINDS: Array<[keyof SdConfigs, string, Factory]> = [
  ['file_sd_configs', 'file', (c, ctx) => new FileDiscoverer(c, ctx)],
  ['dns_sd_configs', 'dns', (c, ctx) => createDnsDiscoverer(c, ctx)],
  ['http_sd_configs', 'http', (c, ctx) => createHttpDiscoverer(c, ctx)],
  [
    'kubernetes_sd_configs',
    'kubernetes',
    (c, ctx) => new LazyDiscoverer(async () => new (await import('./kubernetes/index.js')).KubernetesDiscoverer(c, ctx), ctx),
  ],
];

export function hasDiscovery(c: SdConfigs): boolean {
  return KINDS.some(([k]) => c[k].length > 0);
}

export class DiscoveryManager {
  private readonly providers = new Map<string, Provider>();
  private readonly dirty = new Set<string>();
  /** Pools that had their first update: later ones wait for the interval. */
  private readonly sent = new Set<string>();
  private timerDue = Infinity;
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  /** Updates handed to the receiver and not yet applied (a timer's flush may overlap an explicit one). */
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: DiscoveryManagerOptions) {
    this.intervalMs = opts.updateIntervalMs ?? 5_000;
  }

  /** Starts, keeps or stops providers to match the pools' discovery blocks. */
  async apply(pools: readonly PoolConfig[]): Promise<void> {
    const wanted = new Map<string, { pool: string; name: string; cfg: unknown; factory: Factory }>();
    for (const p of pools) {
      for (const [field, kind, factory] of KINDS) {
        p[field].forEach((cfg, i) => {
          const key = JSON.stringify([p.job_name, kind, cfg]);
          wanted.set(key, { pool: p.job_name, name: `${kind}/${i}`, cfg, factory });
        });
      }
    }
    const stopping: Promise<void>[] = [];
    for (const [key, prov] of this.providers) {
      if (wanted.has(key)) continue;
      this.providers.delete(key);
      this.dirty.add(prov.pool);
      stopping.push(prov.discoverer.stop());
    }
    await Promise.all(stopping);
    for (const [key, w] of wanted) {
      const existing = this.providers.get(key);
      if (existing) {
        existing.name = w.name;
        continue;
      }
      const prov: Provider = { key, pool: w.pool, name: w.name, groups: new Map(), discoverer: undefined as unknown as Discoverer };
      const logger = this.opts.logger.child({ scrape_pool: w.pool, provider: w.name });
      const ctx: DiscoveryContext = {
        logger,
        baseDir: this.opts.baseDir,
        reportError: (e) => (prov.error = e),
      };
      prov.discoverer = w.factory(w.cfg as never, ctx);
      this.providers.set(key, prov);
      prov.discoverer.start((groups) => {
        if (!this.providers.has(key)) return;
        for (const g of groups) {
          if (g.targets.length === 0) prov.groups.delete(g.source);
          else prov.groups.set(g.source, g);
        }
        this.dirty.add(prov.pool);
        this.scheduleFlush();
      });
    }
    // Pools that lost every provider get one last, empty update.
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.dirty.size === 0) return;
    // A pool's first targets go out at once; later changes are batched.
    const delay = [...this.dirty].some((p) => !this.sent.has(p)) ? 0 : this.intervalMs;
    const due = Date.now() + delay;
    if (this.timer && this.timerDue <= due) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delay);
    this.timer.unref();
  }

  /** Sends the pending pool updates now; resolves once the receiver applied them and any sent before. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Infinity;
    const pools = [...this.dirty];
    this.dirty.clear();
    const applied: Array<void | Promise<void>> = [];
    for (const pool of pools) {
      this.sent.add(pool);
      applied.push(this.opts.onUpdate(pool, this.groups(pool)));
    }
    const done = Promise.all([this.inFlight, ...applied]);
    this.inFlight = done.catch(() => undefined);
    await done;
  }

  /** The merged groups of a pool; sources are prefixed with their provider. */
  groups(pool: string): TargetGroup[] {
    const out: TargetGroup[] = [];
    for (const p of this.providers.values()) {
      if (p.pool !== pool) continue;
      for (const g of p.groups.values()) out.push({ ...g, source: `${p.name}/${g.source}` });
    }
    return out;
  }

  /** Refreshes every provider that polls or reads files, then flushes: lets tests step time. */
  async refreshAll(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => (p.discoverer as Partial<Refreshable>).refresh?.()));
    await new Promise((r) => setImmediate(r));
    await this.flush();
  }

  status(): ProviderStatus[] {
    return [...this.providers.values()].map((p) => ({ pool: p.pool, provider: p.name, ...(p.error ? { error: p.error } : {}) }));
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const all = [...this.providers.values()];
    this.providers.clear();
    await Promise.all(all.map((p) => p.discoverer.stop()));
  }
}
