/**
 * A loopback stand-in for the Kubernetes API server: discovery documents,
 * list and watch of Pods, Endpoints, EndpointSlices, Services and Nodes in the
 * real API's JSON, resourceVersions, watch events ADDED / MODIFIED / DELETED /
 * BOOKMARK, and 410 Gone for a resourceVersion older than the kept history.
 * Enough of the API for `kubectl get` and for Vigil's client to use their
 * ordinary code paths.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Kind = 'Pod' | 'Service' | 'Endpoints' | 'EndpointSlice' | 'Node';

interface ResourceInfo {
  kind: Kind;
  plural: string;
  group: '' | 'discovery.k8s.io';
  namespaced: boolean;
  shortNames?: string[];
}

const RESOURCES: ResourceInfo[] = [
  { kind: 'Pod', plural: 'pods', group: '', namespaced: true, shortNames: ['po'] },
  { kind: 'Service', plural: 'services', group: '', namespaced: true, shortNames: ['svc'] },
  { kind: 'Endpoints', plural: 'endpoints', group: '', namespaced: true, shortNames: ['ep'] },
  { kind: 'Node', plural: 'nodes', group: '', namespaced: false, shortNames: ['no'] },
  { kind: 'EndpointSlice', plural: 'endpointslices', group: 'discovery.k8s.io', namespaced: true },
];

export type KObj = Record<string, any> & {
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string>; uid?: string; [k: string]: unknown };
};

interface Event {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  kind: Kind;
  object: KObj;
}

interface Watcher {
  res: ServerResponse;
  kind: Kind;
  namespace?: string;
  selector: Array<[string, string, boolean]>;
  bookmarks: boolean;
}

export interface KubeApiStandIn {
  /** https://127.0.0.1:PORT, serving a certificate signed by `caFile`. */
  url: string;
  token: string;
  caFile: string;
  /** Open watch connections of a kind. */
  watching(kind: Kind): number;
  /** Creates or replaces an object (ADDED or MODIFIED). */
  apply(kind: Kind, obj: KObj): void;
  remove(kind: Kind, namespace: string | undefined, name: string): void;
  list(kind: Kind): KObj[];
  /** Sends a BOOKMARK with the current resourceVersion to watchers that asked for them. */
  bookmark(): void;
  /** Forgets history up to now: watches from an older resourceVersion get 410 Gone. */
  compact(): void;
  /** Closes every open watch, as an API server restart or a load balancer would. */
  dropWatches(): void;
  /** Requests seen, e.g. `LIST pods`, `WATCH pods rv=12`. */
  requests: string[];
  resourceVersion(): number;
  close(): Promise<void>;
}

function apiVersionOf(r: ResourceInfo): string {
  return r.group ? `${r.group}/v1` : 'v1';
}

function parseSelector(s: string | null): Array<[string, string, boolean]> {
  if (!s) return [];
  return s.split(',').map((p) => {
    const m = /^\s*([^!=\s]+)\s*(!=|==|=)\s*(.*?)\s*$/.exec(p);
    if (!m) throw new Error(`unsupported selector ${p}`);
    return [m[1], m[3], m[2] === '!='];
  });
}

function matches(obj: KObj, sel: Array<[string, string, boolean]>): boolean {
  return sel.every(([k, v, neg]) => (obj.metadata.labels?.[k] === v) !== neg);
}

export async function startKubeApi(token = 'stand-in-token'): Promise<KubeApiStandIn> {
  let rv = 100;
  let compactedRv = 0;
  const store = new Map<Kind, Map<string, KObj>>(RESOURCES.map((r) => [r.kind, new Map()]));
  const history: Event[] = [];
  const watchers = new Set<Watcher>();
  const requests: string[] = [];
  let uid = 0;

  const keyOf = (o: KObj) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const info = (kind: Kind) => RESOURCES.find((r) => r.kind === kind)!;
  const withKind = (kind: Kind, o: KObj) => ({ kind, apiVersion: apiVersionOf(info(kind)), ...o });

  const sendEvent = (w: Watcher, type: string, object: unknown) => {
    w.res.write(JSON.stringify({ type, object }) + '\n');
  };
  const publish = (ev: Event) => {
    history.push(ev);
    for (const w of watchers) {
      if (w.kind !== ev.kind) continue;
      if (w.namespace && ev.object.metadata.namespace !== w.namespace) continue;
      if (!matches(ev.object, w.selector)) continue;
      sendEvent(w, ev.type, withKind(ev.kind, ev.object));
    }
  };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const status = (res: ServerResponse, code: number, reason: string, message: string) =>
    json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

  const discovery = (res: ServerResponse, path: string): boolean => {
    if (path === '/version') {
      json(res, 200, { major: '1', minor: '27', gitVersion: 'v1.27.0', platform: 'linux/amd64' });
      return true;
    }
    if (path === '/api') {
      json(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:443' }] });
      return true;
    }
    if (path === '/apis') {
      json(res, 200, {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [{ name: 'discovery.k8s.io', versions: [{ groupVersion: 'discovery.k8s.io/v1', version: 'v1' }], preferredVersion: { groupVersion: 'discovery.k8s.io/v1', version: 'v1' } }],
      });
      return true;
    }
    const groupVersion = path === '/api/v1' ? 'v1' : path === '/apis/discovery.k8s.io/v1' ? 'discovery.k8s.io/v1' : undefined;
    if (!groupVersion) return false;
    json(res, 200, {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion,
      resources: RESOURCES.filter((r) => apiVersionOf(r) === groupVersion).map((r) => ({
        name: r.plural,
        singularName: r.kind.toLowerCase(),
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: ['get', 'list', 'watch'],
        ...(r.shortNames ? { shortNames: r.shortNames } : {}),
      })),
    });
    return true;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (req.headers.authorization !== `Bearer ${token}`) return status(res, 401, 'Unauthorized', 'Unauthorized');
    if (discovery(res, u.pathname)) return;
    const m = /^\/(?:api\/v1|apis\/discovery\.k8s\.io\/v1)(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+))?$/.exec(u.pathname);
    const r = m && RESOURCES.find((x) => x.plural === m[2] && u.pathname.startsWith(x.group ? '/apis/' : '/api/'));
    if (!m || !r) return status(res, 404, 'NotFound', `the server could not find the requested resource (${u.pathname})`);
    const namespace = m[1] ? decodeURIComponent(m[1]) : undefined;
    let selector: Array<[string, string, boolean]>;
    try {
      selector = parseSelector(u.searchParams.get('labelSelector'));
    } catch (err) {
      return status(res, 400, 'BadRequest', (err as Error).message);
    }
    const objects = [...store.get(r.kind)!.values()].filter((o) => (!namespace || o.metadata.namespace === namespace) && matches(o, selector));
    if (m[3]) {
      const o = objects.find((x) => x.metadata.name === m[3]);
      return o ? json(res, 200, withKind(r.kind, o)) : status(res, 404, 'NotFound', `${r.plural} "${m[3]}" not found`);
    }
    if (u.searchParams.get('watch') === 'true' || u.searchParams.get('watch') === '1') {
      const from = Number(u.searchParams.get('resourceVersion') || String(rv));
      requests.push(`WATCH ${r.plural} rv=${from}`);
      if (from < compactedRv) {
        // What the real server does for a too old resourceVersion on a watch.
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${from} (${compactedRv})`, reason: 'Expired', code: 410 } }) + '\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      const w: Watcher = { res, kind: r.kind, namespace, selector, bookmarks: u.searchParams.get('allowWatchBookmarks') === 'true' };
      watchers.add(w);
      req.socket.setNoDelay(true);
      res.on('close', () => watchers.delete(w));
      for (const ev of history) {
        if (ev.rv <= from || ev.kind !== r.kind) continue;
        if (namespace && ev.object.metadata.namespace !== namespace) continue;
        if (!matches(ev.object, selector)) continue;
        sendEvent(w, ev.type, withKind(ev.kind, ev.object));
      }
      return;
    }
    requests.push(`LIST ${r.plural}`);
    json(res, 200, { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(rv) }, items: objects });
  };

  // Like a real API server, TLS with its own CA; kubectl sends tokens only over TLS.
  const certDir = mkdtempSync(join(tmpdir(), 'vigil-kube-ca-'));
  const caFile = join(certDir, 'ca.crt');
  const keyFile = join(certDir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', caFile], { stdio: 'ignore' });
  const server: Server = createServer({ key: readFileSync(keyFile), cert: readFileSync(caFile) }, handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    token,
    caFile,
    watching: (kind) => [...watchers].filter((w) => w.kind === kind).length,
    requests,
    resourceVersion: () => rv,
    apply(kind, obj) {
      const map = store.get(kind)!;
      const prev = map.get(keyOf(obj));
      rv++;
      const stored: KObj = { ...obj, metadata: { ...obj.metadata, uid: prev?.metadata.uid ?? obj.metadata.uid ?? `uid-${++uid}`, resourceVersion: String(rv) } };
      map.set(keyOf(stored), stored);
      publish({ rv, type: prev ? 'MODIFIED' : 'ADDED', kind, object: stored });
    },
    remove(kind, namespace, name) {
      const map = store.get(kind)!;
      const key = `${namespace ?? ''}/${name}`;
      const prev = map.get(key);
      if (!prev) return;
      map.delete(key);
      rv++;
      publish({ rv, type: 'DELETED', kind, object: { ...prev, metadata: { ...prev.metadata, resourceVersion: String(rv) } } });
    },
    list: (kind) => [...store.get(kind)!.values()],
    bookmark() {
      for (const w of watchers) if (w.bookmarks) sendEvent(w, 'BOOKMARK', { kind: w.kind, apiVersion: apiVersionOf(info(w.kind)), metadata: { resourceVersion: String(rv) } });
    },
    compact() {
      compactedRv = rv;
      history.length = 0;
    },
    dropWatches() {
      for (const w of watchers) w.res.destroy();
      watchers.clear();
    },
    async close() {
      for (const w of watchers) w.res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      rmSync(certDir, { recursive: true, force: true });
    },
  };
}

/** A pod as the API returns it; `port` is both the container port and the scrape annotation. */
export function pod(o: { name: string; namespace?: string; ip?: string; port: number; phase?: string; ready?: boolean; annotated?: boolean; labels?: Record<string, string>; node?: string }): KObj {
  const annotations: Record<string, string> = o.annotated === false ? {} : { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(o.port), 'prometheus.io/path': '/metrics' };
  const phase = o.phase ?? 'Running';
  return {
    metadata: {
      name: o.name,
      namespace: o.namespace ?? 'sical',
      labels: { app: 'sical-backend', ...o.labels },
      annotations,
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'sical-backend-7d4b9', uid: 'rs-1', controller: true }],
    },
    spec: { nodeName: o.node ?? 'node-1', containers: [{ name: 'api', image: 'sical/backend:1.4.2', ports: [{ name: 'http', containerPort: o.port, protocol: 'TCP' }] }] },
    status: {
      phase,
      hostIP: '10.0.0.1',
      ...(phase === 'Pending' ? {} : { podIP: o.ip ?? '127.0.0.1' }),
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
      containerStatuses: [{ name: 'api', containerID: `containerd://${o.name}`, ready: o.ready !== false }],
    },
  };
}
