/**
 * kubernetes_sd_configs: list-and-watch of the role's resources through the
 * official client's ListWatch (relists on 410 Gone, resumes a closed watch from
 * the last resourceVersion, follows bookmarks), restarted with backoff after
 * any other error. Every change recomputes the role's groups from the caches
 * and sends the ones that changed; objects that went away send empty groups.
 */
import { CoreV1Api, DiscoveryV1Api, ListWatch, Watch, type KubeConfig, type KubernetesObject, type KubernetesListObject } from '@kubernetes/client-node';
import type { KubernetesSdConfig } from '../../config/discovery.js';
import type { Discoverer, DiscoveryContext, TargetGroup } from '../types.js';
import { kubeConfigFor, namespacesFor } from './client.js';
import { buildEndpointSlice, buildEndpoints, buildNode, buildPod, buildService, nodeMetaLabels, nodeSource, podsByRef, type NodeLookup } from './labels.js';
import type { EndpointSlice, Endpoints, KObject, Node, Pod, Service } from './objects.js';

type Resource = 'pods' | 'services' | 'endpoints' | 'endpointslices' | 'nodes';

const RESOURCES_FOR_ROLE: Record<string, Resource[]> = {
  pod: ['pods'],
  service: ['services'],
  node: ['nodes'],
  endpoints: ['endpoints', 'services', 'pods'],
  endpointslice: ['endpointslices', 'services', 'pods'],
};

const SELECTOR_ROLE: Record<Resource, string> = { pods: 'pod', services: 'service', endpoints: 'endpoints', endpointslices: 'endpointslice', nodes: 'node' };

const MAX_BACKOFF_MS = 30_000;

export interface KubernetesDiscovererOptions {
  /** First wait before retrying a failed list or watch (doubling up to 30 s); 1 s unless a test shortens it. */
  initialBackoffMs?: number;
}

/** Asks the API server for bookmarks, so a quiet watch still advances its resourceVersion. */
class BookmarkWatch extends Watch {
  override watch(path: string, query: Record<string, string | number | boolean | undefined>, cb: (phase: string, obj: unknown, watchObj?: unknown) => void, done: (err: unknown) => void) {
    return super.watch(path, { ...query, allowWatchBookmarks: true }, cb, done);
  }
}

type ListFn = () => Promise<KubernetesListObject<KubernetesObject>>;

function listerFor(kc: KubeConfig, resource: Resource, namespace: string | undefined, labelSelector?: string, fieldSelector?: string): { path: string; list: ListFn } {
  const core = kc.makeApiClient(CoreV1Api);
  const disc = kc.makeApiClient(DiscoveryV1Api);
  const q = { labelSelector, fieldSelector };
  const nsPath = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const as = (p: Promise<unknown>) => p as Promise<KubernetesListObject<KubernetesObject>>;
  switch (resource) {
    case 'pods':
      return { path: `/api/v1${nsPath}/pods`, list: () => as(namespace ? core.listNamespacedPod({ namespace, ...q }) : core.listPodForAllNamespaces(q)) };
    case 'services':
      return { path: `/api/v1${nsPath}/services`, list: () => as(namespace ? core.listNamespacedService({ namespace, ...q }) : core.listServiceForAllNamespaces(q)) };
    case 'endpoints':
      return { path: `/api/v1${nsPath}/endpoints`, list: () => as(namespace ? core.listNamespacedEndpoints({ namespace, ...q }) : core.listEndpointsForAllNamespaces(q)) };
    case 'endpointslices':
      return {
        path: `/apis/discovery.k8s.io/v1${nsPath}/endpointslices`,
        list: () => as(namespace ? disc.listNamespacedEndpointSlice({ namespace, ...q }) : disc.listEndpointSliceForAllNamespaces(q)),
      };
    case 'nodes':
      return { path: '/api/v1/nodes', list: () => as(core.listNode(q)) };
  }
}

interface Watched {
  resource: Resource;
  lw: ListWatch<KubernetesObject>;
  synced: boolean;
  backoffMs: number;
  /** Failures so far: a start that resolves without a new one has listed. */
  failures: number;
  retry?: NodeJS.Timeout;
}

export class KubernetesDiscoverer implements Discoverer {
  private readonly watched: Watched[] = [];
  private emit: ((groups: TargetGroup[]) => void) | undefined;
  private last = new Map<string, string>();
  private scheduled = false;
  private stopped = false;
  private readonly initialBackoffMs: number;

  constructor(
    private readonly cfg: KubernetesSdConfig,
    private readonly ctx: DiscoveryContext,
    opts: KubernetesDiscovererOptions = {},
  ) {
    this.initialBackoffMs = opts.initialBackoffMs ?? 1_000;
  }

  start(emit: (groups: TargetGroup[]) => void): void {
    this.emit = emit;
    let kc: KubeConfig;
    let namespaces: string[];
    try {
      kc = kubeConfigFor(this.cfg, this.ctx.baseDir);
      namespaces = namespacesFor(this.cfg, kc);
    } catch (err) {
      this.ctx.reportError((err as Error).message);
      this.ctx.logger.error({ error: (err as Error).message }, 'kubernetes_sd: cannot configure the client');
      return;
    }
    const resources = [...RESOURCES_FOR_ROLE[this.cfg.role]];
    const attachNodes = this.cfg.attach_metadata.node && ['pod', 'endpoints', 'endpointslice'].includes(this.cfg.role);
    if (attachNodes) resources.push('nodes');
    const watch = new BookmarkWatch(kc);
    for (const resource of resources) {
      const sel = this.cfg.selectors.find((s) => s.role === SELECTOR_ROLE[resource]);
      const scopes = resource === 'nodes' || namespaces.length === 0 ? [undefined] : namespaces;
      for (const ns of scopes) {
        const { path, list } = listerFor(kc, resource, ns, sel?.label, sel?.field);
        const lw = new ListWatch<KubernetesObject>(path, watch, list, false, sel?.label, sel?.field);
        const w: Watched = { resource, lw, synced: false, backoffMs: this.initialBackoffMs, failures: 0 };
        const changed = () => {
          w.synced = true;
          w.backoffMs = this.initialBackoffMs;
          this.schedule();
        };
        lw.on('add', changed);
        lw.on('update', changed);
        lw.on('delete', changed);
        lw.on('error', (err: unknown) => this.restartLater(w, path, err));
        this.watched.push(w);
        // ListWatch reports a failed list through 'error' and still resolves start().
        void lw.start().then(
          () => {
            if (!w.synced && w.failures === 0) changed();
          },
          (err: unknown) => this.restartLater(w, path, err),
        );
      }
    }
  }

  /** ListWatch stops on errors other than 410 Gone; Prometheus's reflector retries, so do we. */
  private restartLater(w: Watched, path: string, err: unknown): void {
    if (this.stopped) return;
    w.failures++;
    const msg = `kubernetes_sd ${this.cfg.role}: ${path}: ${(err as Error)?.message ?? String(err)}`;
    this.ctx.reportError(msg);
    this.ctx.logger.warn({ error: msg, retryInMs: w.backoffMs }, 'kubernetes_sd: list/watch failed; retrying');
    clearTimeout(w.retry);
    w.retry = setTimeout(() => {
      if (this.stopped) return;
      const before = w.failures;
      void w.lw.start().then(
        () => {
          if (w.failures !== before) return;
          w.synced = true;
          this.ctx.reportError(undefined);
          this.schedule();
        },
        (e: unknown) => this.restartLater(w, path, e),
      );
    }, w.backoffMs);
    w.retry.unref();
    w.backoffMs = Math.min(MAX_BACKOFF_MS, w.backoffMs * 2);
  }

  /** Several events in one tick recompute once. */
  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.stopped) this.recompute();
    });
  }

  private objects<T extends KObject>(resource: Resource): T[] {
    return this.watched.filter((w) => w.resource === resource).flatMap((w) => w.lw.list() as unknown as T[]);
  }

  private recompute(): void {
    // Groups are sent only once every cache has its first list, so a role never
    // starts with endpoints missing their pods' labels.
    if (!this.watched.every((w) => w.synced)) return;
    let nodeLookup: NodeLookup | undefined;
    if (this.cfg.attach_metadata.node) {
      const nodes = new Map(this.objects<Node>('nodes').map((n) => [n.metadata?.name ?? '', n]));
      nodeLookup = (name) => nodeMetaLabels(name ? nodes.get(name) : undefined, name);
    }
    const groups: TargetGroup[] = [];
    /** Sources whose last group stands: a node that lost its addresses keeps its target, as in Prometheus. */
    const kept: string[] = [];
    switch (this.cfg.role) {
      case 'pod':
        for (const p of this.objects<Pod>('pods')) groups.push(buildPod(p, nodeLookup));
        break;
      case 'service':
        for (const s of this.objects<Service>('services')) groups.push(buildService(s));
        break;
      case 'node':
        for (const n of this.objects<Node>('nodes')) {
          const g = buildNode(n);
          if (g) groups.push(g);
          else {
            this.ctx.logger.warn({ node: n.metadata?.name }, 'kubernetes_sd: node has no address; keeping its last target');
            kept.push(nodeSource(n));
          }
        }
        break;
      case 'endpoints':
      case 'endpointslice': {
        const services = new Map(this.objects<Service>('services').map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s]));
        const ectx = {
          service: (ns: string, name: string) => services.get(`${ns}/${name}`),
          pod: podsByRef(this.objects<Pod>('pods')),
          nodeLabels: nodeLookup,
        };
        if (this.cfg.role === 'endpoints') for (const e of this.objects<Endpoints>('endpoints')) groups.push(buildEndpoints(e, ectx));
        else for (const e of this.objects<EndpointSlice>('endpointslices')) groups.push(buildEndpointSlice(e, ectx));
        break;
      }
    }
    const next = new Map<string, string>();
    for (const source of kept) {
      const sig = this.last.get(source);
      if (sig !== undefined) next.set(source, sig);
    }
    const changed: TargetGroup[] = [];
    for (const g of groups) {
      const sig = JSON.stringify([g.labels, g.targets]);
      next.set(g.source, sig);
      if (this.last.get(g.source) !== sig) changed.push(g);
    }
    for (const source of this.last.keys()) if (!next.has(source)) changed.push({ source, targets: [], labels: {} });
    this.last = next;
    if (changed.length) this.emit?.(changed);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.watched) {
      clearTimeout(w.retry);
      await w.lw.stop();
    }
  }
}
