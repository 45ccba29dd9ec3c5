import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { CoreV1Api } from '@kubernetes/client-node';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import type { KubernetesSdConfig } from '../../src/config/discovery.js';
import { kubeConfigFor, namespacesFor, SERVICE_ACCOUNT_DIR } from '../../src/discovery/kubernetes/client.js';
import { KubernetesDiscoverer } from '../../src/discovery/kubernetes/index.js';
import type { TargetGroup } from '../../src/discovery/types.js';
import { silentLogger } from '../../src/logger.js';
import { waitFor } from '../helpers/net.js';
import { requireBinary } from '../helpers/services.js';
import { pod, startKubeApi, type KObj, type KubeApiStandIn } from './kube-api.js';

const run = promisify(execFile);

let api: KubeApiStandIn;
let dir: string;
beforeAll(async () => {
  api = await startKubeApi();
  dir = mkdtempSync(join(tmpdir(), 'vigil-k8s-'));
});
afterAll(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

function sdConfig(yaml: string): KubernetesSdConfig {
  return parseConfig(`scrape_configs: [{job_name: k, kubernetes_sd_configs: [${yaml}]}]`).scrape_configs[0].kubernetes_sd_configs[0];
}

/**
 * Runs a discoverer and keeps the latest group per source. Its retries start
 * at 50 ms instead of 1 s: a dropped watch (the stand-in cuts the connection)
 * is a failed one, and the tests below drop several.
 */
function discover(cfg: KubernetesSdConfig): { groups: Map<string, TargetGroup>; errors: string[]; d: KubernetesDiscoverer } {
  const groups = new Map<string, TargetGroup>();
  const errors: string[] = [];
  const d = new KubernetesDiscoverer(cfg, { logger: silentLogger(), baseDir: dir, reportError: (e) => e && errors.push(e) }, { initialBackoffMs: 50 });
  d.start((gs) => {
    for (const g of gs) {
      if (g.targets.length) groups.set(g.source, g);
      else groups.delete(g.source);
    }
  });
  return { groups, errors, d };
}

const running: KubernetesDiscoverer[] = [];
afterEach(async () => {
  for (const d of running.splice(0)) await d.stop();
});

function seedCluster(): void {
  api.apply('Node', {
    metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1', 'topology.kubernetes.io/zone': 'eu-1a' }, annotations: { 'node.alpha.kubernetes.io/ttl': '0' } },
    spec: { providerID: 'aws:///eu-1a/i-0abc' },
    status: { addresses: [{ type: 'Hostname', address: 'node-1' }, { type: 'InternalIP', address: '10.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: 10250 } } },
  });
  api.apply('Pod', pod({ name: 'web-0', ip: '10.1.0.10', port: 8080 }));
  api.apply('Pod', pod({ name: 'web-1', ip: '10.1.0.11', port: 8080, ready: false }));
  api.apply('Service', {
    metadata: { name: 'web', namespace: 'sical', labels: { app: 'sical-backend' }, annotations: { 'prometheus.io/scrape': 'true' } },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  });
  api.apply('Endpoints', {
    metadata: { name: 'web', namespace: 'sical', labels: { app: 'sical-backend' } },
    subsets: [
      {
        addresses: [{ ip: '10.1.0.10', nodeName: 'node-1', targetRef: { kind: 'Pod', name: 'web-0', namespace: 'sical' } }],
        notReadyAddresses: [{ ip: '10.1.0.11', nodeName: 'node-1', targetRef: { kind: 'Pod', name: 'web-1', namespace: 'sical' } }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ],
  });
  api.apply('EndpointSlice', {
    metadata: { name: 'web-abcde', namespace: 'sical', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
    addressType: 'IPv4',
    endpoints: [
      { addresses: ['10.1.0.10'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-1', targetRef: { kind: 'Pod', name: 'web-0', namespace: 'sical' } },
      { addresses: ['10.1.0.11'], conditions: { ready: false, serving: false, terminating: false }, nodeName: 'node-1', targetRef: { kind: 'Pod', name: 'web-1', namespace: 'sical' } },
    ],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  });
}

describe('Kubernetes API stand-in', () => {
  it('speaks the API: the real kubectl lists the same objects', async () => {
    const kubectl = requireBinary('kubectl', 'kubernetes-client');
    if (!kubectl) return;
    seedCluster();
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{name: standin, cluster: {server: "${api.url}", certificate-authority: "${api.caFile}"}}]
users: [{name: vigil, user: {token: ${api.token}}}]
contexts: [{name: standin, context: {cluster: standin, user: vigil, namespace: sical}}]
current-context: standin
`,
    );
    const env = { ...process.env, HOME: dir, KUBECONFIG: kubeconfig };
    for (const [kind, resource, ns] of [
      ['Pod', 'pods', true],
      ['Service', 'services', true],
      ['Endpoints', 'endpoints', true],
      ['EndpointSlice', 'endpointslices.discovery.k8s.io', true],
      ['Node', 'nodes', false],
    ] as const) {
      const args = ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), 'get', resource, ...(ns ? ['--all-namespaces'] : []), '-o', 'json'];
      const { stdout } = await run(kubectl, args, { env });
      // The same objects, field for field (kubectl adds kind and apiVersion to each item).
      const key = (o: KObj) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      const byKey = (os: KObj[]) => Object.fromEntries(os.map((o) => [key(o), o]));
      const listed = byKey((JSON.parse(stdout) as { items: KObj[] }).items.map(({ kind: _k, apiVersion: _v, ...o }) => o as KObj));
      expect(listed, resource).toEqual(byKey(api.list(kind)));
      expect(Object.keys(listed).length, resource).toBeGreaterThan(0);
    }
    // A label selector goes through to the server as for a real cluster.
    const { stdout } = await run(kubectl, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), 'get', 'pods', '-n', 'sical', '-l', 'app=sical-backend', '-o', 'name'], { env });
    expect(stdout.trim().split('\n').sort()).toEqual(['pod/web-0', 'pod/web-1']);

    // kubectl's watch (list, then watch from the list's resourceVersion) sees ADDED, MODIFIED and DELETED.
    const watcher = spawn(
      kubectl,
      ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), 'get', 'pods', '-n', 'sical', '--watch', '--output-watch-events', '-o', 'jsonpath={.type} {.object.metadata.name}{"\\n"}'],
      { env, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let events = '';
    watcher.stdout.on('data', (b: Buffer) => (events += b.toString()));
    try {
      await waitFor(() => api.requests.some((r) => r.startsWith('WATCH pods')) && events.includes('ADDED web-1'), 30_000);
      api.apply('Pod', pod({ name: 'web-9', ip: '10.1.0.19', port: 8080 }));
      api.apply('Pod', pod({ name: 'web-9', ip: '10.1.0.19', port: 8080, ready: false }));
      api.remove('Pod', 'sical', 'web-9');
      await waitFor(() => events.includes('DELETED web-9'), 30_000);
      expect(events.trim().split('\n').filter((l) => l.endsWith('web-9'))).toEqual(['ADDED web-9', 'MODIFIED web-9', 'DELETED web-9']);
    } finally {
      watcher.kill();
    }
  });
});

describe('kubernetes_sd_configs', () => {
  const base = () => `{api_server: "${api.url}", bearer_token: ${api.token}, tls_config: {ca_file: "${api.caFile}"}`;

  it('role pod: Prometheus labels for every container port', async () => {
    seedCluster();
    const { groups, d } = discover(sdConfig(`${base()}, role: pod, namespaces: {names: [sical]}}`));
    running.push(d);
    const g = await waitFor(() => groups.get('pod/sical/web-0'));
    expect(g.labels).toMatchObject({
      __meta_kubernetes_namespace: 'sical',
      __meta_kubernetes_pod_name: 'web-0',
      __meta_kubernetes_pod_ip: '10.1.0.10',
      __meta_kubernetes_pod_ready: 'true',
      __meta_kubernetes_pod_phase: 'Running',
      __meta_kubernetes_pod_node_name: 'node-1',
      __meta_kubernetes_pod_host_ip: '10.0.0.1',
      __meta_kubernetes_pod_controller_kind: 'ReplicaSet',
      __meta_kubernetes_pod_controller_name: 'sical-backend-7d4b9',
      __meta_kubernetes_pod_label_app: 'sical-backend',
      __meta_kubernetes_pod_labelpresent_app: 'true',
      __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
      __meta_kubernetes_pod_annotationpresent_prometheus_io_port: 'true',
    });
    expect(g.labels.__meta_kubernetes_pod_uid).toMatch(/^uid-/);
    expect(g.targets).toEqual([
      {
        __address__: '10.1.0.10:8080',
        __meta_kubernetes_pod_container_name: 'api',
        __meta_kubernetes_pod_container_id: 'containerd://web-0',
        __meta_kubernetes_pod_container_image: 'sical/backend:1.4.2',
        __meta_kubernetes_pod_container_init: 'false',
        __meta_kubernetes_pod_container_port_number: '8080',
        __meta_kubernetes_pod_container_port_name: 'http',
        __meta_kubernetes_pod_container_port_protocol: 'TCP',
      },
    ]);
    expect((await waitFor(() => groups.get('pod/sical/web-1'))).labels.__meta_kubernetes_pod_ready).toBe('false');
  });

  it('roles service, node, endpoints and endpointslice', async () => {
    seedCluster();
    const svc = discover(sdConfig(`${base()}, role: service}`));
    const node = discover(sdConfig(`${base()}, role: node}`));
    const eps = discover(sdConfig(`${base()}, role: endpoints, namespaces: {names: [sical]}}`));
    const slices = discover(sdConfig(`${base()}, role: endpointslice, attach_metadata: {node: true}}`));
    running.push(svc.d, node.d, eps.d, slices.d);

    const s = await waitFor(() => svc.groups.get('svc/sical/web'));
    expect(s.labels).toEqual({
      __meta_kubernetes_namespace: 'sical',
      __meta_kubernetes_service_name: 'web',
      __meta_kubernetes_service_label_app: 'sical-backend',
      __meta_kubernetes_service_labelpresent_app: 'true',
      __meta_kubernetes_service_annotation_prometheus_io_scrape: 'true',
      __meta_kubernetes_service_annotationpresent_prometheus_io_scrape: 'true',
    });
    expect(s.targets).toEqual([
      {
        __address__: 'web.sical.svc:80',
        __meta_kubernetes_service_port_name: 'http',
        __meta_kubernetes_service_port_number: '80',
        __meta_kubernetes_service_port_protocol: 'TCP',
        __meta_kubernetes_service_type: 'ClusterIP',
        __meta_kubernetes_service_cluster_ip: '10.96.0.20',
      },
    ]);

    const n = await waitFor(() => node.groups.get('node/node-1'));
    expect(n.targets).toEqual([{ __address__: '10.0.0.1:10250', instance: 'node-1', __meta_kubernetes_node_address_Hostname: 'node-1', __meta_kubernetes_node_address_InternalIP: '10.0.0.1' }]);
    expect(n.labels).toMatchObject({ __meta_kubernetes_node_name: 'node-1', __meta_kubernetes_node_provider_id: 'aws:///eu-1a/i-0abc', __meta_kubernetes_node_label_topology_kubernetes_io_zone: 'eu-1a' });

    const e = await waitFor(() => eps.groups.get('endpoints/sical/web'));
    expect(e.labels).toMatchObject({ __meta_kubernetes_endpoints_name: 'web', __meta_kubernetes_service_name: 'web', __meta_kubernetes_endpoints_label_app: 'sical-backend' });
    const ready = e.targets.find((t) => t.__address__ === '10.1.0.10:8080')!;
    expect(ready).toMatchObject({
      __meta_kubernetes_endpoint_ready: 'true',
      __meta_kubernetes_endpoint_port_name: 'http',
      __meta_kubernetes_endpoint_address_target_kind: 'Pod',
      __meta_kubernetes_endpoint_address_target_name: 'web-0',
      __meta_kubernetes_endpoint_node_name: 'node-1',
      __meta_kubernetes_pod_name: 'web-0',
      __meta_kubernetes_pod_container_port_number: '8080',
    });
    expect(e.targets.find((t) => t.__address__ === '10.1.0.11:8080')!.__meta_kubernetes_endpoint_ready).toBe('false');

    const sl = await waitFor(() => slices.groups.get('endpointslice/sical/web-abcde'));
    expect(sl.labels).toMatchObject({ __meta_kubernetes_endpointslice_name: 'web-abcde', __meta_kubernetes_endpointslice_address_type: 'IPv4', __meta_kubernetes_service_name: 'web' });
    expect(sl.targets.find((t) => t.__address__ === '10.1.0.11:8080')).toMatchObject({
      __meta_kubernetes_endpointslice_endpoint_conditions_ready: 'false',
      __meta_kubernetes_endpointslice_port: '8080',
      __meta_kubernetes_endpointslice_address_target_name: 'web-1',
      __meta_kubernetes_node_name: 'node-1',
      __meta_kubernetes_node_label_topology_kubernetes_io_zone: 'eu-1a',
      __meta_kubernetes_pod_ready: 'false',
    });
  });

  it('role node: a node that loses its addresses keeps its last target, as in Prometheus; deleting it ends it', async () => {
    seedCluster();
    const node = discover(sdConfig(`${base()}, role: node}`));
    running.push(node.d);
    const before = await waitFor(() => node.groups.get('node/node-1'));
    api.apply('Node', { metadata: { name: 'node-1' }, spec: { providerID: 'aws:///eu-1a/i-0abc' }, status: { addresses: [] } });
    // A second node's arrival shows that discovery has processed the first one's change.
    api.apply('Node', { metadata: { name: 'node-2' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.2' }], daemonEndpoints: { kubeletEndpoint: { Port: 10250 } } } });
    await waitFor(() => node.groups.get('node/node-2'));
    expect(node.groups.get('node/node-1')).toEqual(before);
    api.remove('Node', undefined, 'node-1');
    await waitFor(() => !node.groups.has('node/node-1'));
    api.remove('Node', undefined, 'node-2');
  });

  it('watches instead of polling: resumes a dropped watch, follows bookmarks, relists after 410 Gone', async () => {
    seedCluster();
    const { groups, d } = discover(sdConfig(`${base()}, role: pod, namespaces: {names: [sical]}, selectors: [{role: pod, label: "app=sical-backend"}]}`));
    running.push(d);
    await waitFor(() => groups.get('pod/sical/web-0'));
    const lists = () => api.requests.filter((r) => r === 'LIST pods').length;
    const listsAtStart = lists();

    // A dropped watch resumes from the last resourceVersion: no new list.
    api.dropWatches();
    api.apply('Pod', pod({ name: 'web-2', ip: '10.1.0.12', port: 8080 }));
    await waitFor(() => groups.get('pod/sical/web-2'));
    // The selector reaches the server: a pod of another app is never seen.
    api.apply('Pod', pod({ name: 'other', ip: '10.1.0.99', port: 9000, labels: { app: 'other' } }));
    expect(lists()).toBe(listsAtStart);

    // A bookmark moves the client's resourceVersion past compacted history: the next watch resumes without 410.
    const rvAfterBookmark = api.resourceVersion();
    await waitFor(async () => {
      // The client processed the bookmark once its next watch resumes from the bookmark's version.
      await waitFor(() => api.watching('Pod') > 0);
      api.bookmark();
      await new Promise((r) => setTimeout(r, 20));
      api.dropWatches();
      await waitFor(() => api.watching('Pod') > 0);
      return api.requests.some((r) => r === `WATCH pods rv=${rvAfterBookmark}`);
    });
    api.compact();
    api.dropWatches();
    api.apply('Pod', pod({ name: 'web-3', ip: '10.1.0.13', port: 8080 }));
    await waitFor(() => groups.get('pod/sical/web-3'));
    expect(lists()).toBe(listsAtStart);

    // History compacted past the client's version while it was away: 410 Gone, then a fresh list
    // that also notices a pod deleted in the gap.
    api.dropWatches();
    api.remove('Pod', 'sical', 'web-2');
    api.apply('Pod', pod({ name: 'web-4', ip: '10.1.0.14', port: 8080 }));
    api.compact();
    api.dropWatches();
    await waitFor(() => groups.get('pod/sical/web-4') && !groups.has('pod/sical/web-2'));
    expect(lists()).toBeGreaterThan(listsAtStart);
    expect(groups.has('pod/sical/other')).toBe(false);
    for (const p of ['web-2', 'web-3', 'web-4', 'other']) api.remove('Pod', 'sical', p);
  });

  it('authenticates through a kubeconfig file', async () => {
    seedCluster();
    const kubeconfig = join(dir, 'kubeconfig-sd');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{name: standin, cluster: {server: "${api.url}", certificate-authority: "${api.caFile}"}}]
users: [{name: vigil, user: {token: ${api.token}}}]
contexts: [{name: standin, context: {cluster: standin, user: vigil}}]
current-context: standin
`,
    );
    const { groups, d } = discover(sdConfig(`{role: pod, kubeconfig_file: kubeconfig-sd}`));
    running.push(d);
    expect((await waitFor(() => groups.get('pod/sical/web-0'))).labels.__meta_kubernetes_pod_name).toBe('web-0');
  });

  it('authenticates in-cluster: service account token, CA and own namespace', async () => {
    seedCluster();
    const root = join(dir, 'pod-root');
    const sa = join(root, SERVICE_ACCOUNT_DIR);
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), api.token);
    writeFileSync(join(sa, 'ca.crt'), readFileSync(api.caFile));
    writeFileSync(join(sa, 'namespace'), 'sical');
    const port = new URL(api.url).port;
    // The client reads the service's address from the environment, as inside a pod.
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
    process.env.KUBERNETES_SERVICE_PORT = port;
    let kc;
    try {
      kc = kubeConfigFor(sdConfig('{role: pod, namespaces: {own_namespace: true}}'), dir, process.env, root);
    } finally {
      if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
      else process.env.KUBERNETES_SERVICE_HOST = saved.host;
      if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
      else process.env.KUBERNETES_SERVICE_PORT = saved.port;
    }
    expect(kc.getCurrentCluster()?.server).toBe(`https://127.0.0.1:${port}`);
    expect(namespacesFor(sdConfig('{role: pod, namespaces: {own_namespace: true}}'), kc)).toEqual(['sical']);
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'sical' });
    expect(pods.items.map((p) => p.metadata?.name)).toContain('web-0');
    expect(() => kubeConfigFor(sdConfig('{role: pod}'), dir, {})).toThrow(/not running in a cluster/);
  });

  it('rejects a wrong token with a reported error and keeps retrying', async () => {
    const { errors, d } = discover(sdConfig(`{api_server: "${api.url}", bearer_token: wrong, role: pod, tls_config: {ca_file: "${api.caFile}"}}`));
    running.push(d);
    // Retried at the (shortened) backoff, failing the same way each time.
    await waitFor(() => errors.length >= 3);
    for (const e of errors) expect(e).toMatch(/Unauthorized|401/);
  });
});
