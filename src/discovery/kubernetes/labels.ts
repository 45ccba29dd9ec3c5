/**
 * Target groups for each Kubernetes role with exactly Prometheus's
 * `__meta_kubernetes_*` labels and group sources (`pod/ns/name`, ...), so
 * relabeling recipes written for Prometheus work unchanged.
 */
import type { Labels } from '../../tsdb/types.js';
import type { TargetGroup } from '../types.js';
import type { Container, EndpointSlice, Endpoints, Node, ObjectRef, Pod, Service } from './objects.js';

const P = '__meta_kubernetes_';

/** Prometheus's strutil.SanitizeLabelName. */
export function sanitize(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function addMaps(out: Record<string, string>, kind: string, labels?: Record<string, string>, annotations?: Record<string, string>): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    const ln = sanitize(k);
    out[`${P}${kind}_label_${ln}`] = v;
    out[`${P}${kind}_labelpresent_${ln}`] = 'true';
  }
  for (const [k, v] of Object.entries(annotations ?? {})) {
    const ln = sanitize(k);
    out[`${P}${kind}_annotation_${ln}`] = v;
    out[`${P}${kind}_annotationpresent_${ln}`] = 'true';
  }
}

function podReady(pod: Pod): string {
  const c = pod.status?.conditions?.find((x) => x.type === 'Ready');
  return (c?.status ?? 'Unknown').toLowerCase();
}

export function podLabels(pod: Pod): Record<string, string> {
  const m = pod.metadata ?? {};
  const out: Record<string, string> = {
    [`${P}pod_name`]: m.name ?? '',
    [`${P}pod_ip`]: pod.status?.podIP ?? '',
    [`${P}pod_ready`]: podReady(pod),
    [`${P}pod_phase`]: pod.status?.phase ?? '',
    [`${P}pod_node_name`]: pod.spec?.nodeName ?? '',
    [`${P}pod_host_ip`]: pod.status?.hostIP ?? '',
    [`${P}pod_uid`]: m.uid ?? '',
  };
  const ctl = m.ownerReferences?.find((r) => r.controller);
  if (ctl?.kind) out[`${P}pod_controller_kind`] = ctl.kind;
  if (ctl?.name) out[`${P}pod_controller_name`] = ctl.name;
  addMaps(out, 'pod', m.labels, m.annotations);
  return out;
}

export function nodeMetaLabels(node: Node | undefined, nodeName: string | undefined): Record<string, string> {
  if (!node || !nodeName) return {};
  const out: Record<string, string> = { [`${P}node_name`]: nodeName };
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    out[`${P}node_label_${sanitize(k)}`] = v;
    out[`${P}node_labelpresent_${sanitize(k)}`] = 'true';
  }
  return out;
}

export type NodeLookup = (name: string | undefined) => Record<string, string>;

export function buildPod(pod: Pod, nodeLabels?: NodeLookup): TargetGroup {
  const m = pod.metadata ?? {};
  const tg: TargetGroup = { source: `pod/${m.namespace ?? ''}/${m.name ?? ''}`, targets: [], labels: {} };
  const ip = pod.status?.podIP;
  // A pod has no IP while it starts or once evicted: nothing to scrape yet.
  if (!ip) return tg;
  tg.labels = { ...podLabels(pod), [`${P}namespace`]: m.namespace ?? '', ...(nodeLabels?.(pod.spec?.nodeName) ?? {}) };
  const containers = pod.spec?.containers ?? [];
  const all: Array<[Container, boolean]> = [...containers.map((c): [Container, boolean] => [c, false]), ...(pod.spec?.initContainers ?? []).map((c): [Container, boolean] => [c, true])];
  for (const [c, isInit] of all) {
    const statuses = (isInit ? pod.status?.initContainerStatuses : pod.status?.containerStatuses) ?? [];
    const id = statuses.find((s) => s.name === c.name)?.containerID ?? '';
    const base: Record<string, string> = {
      [`${P}pod_container_name`]: c.name,
      [`${P}pod_container_id`]: id,
      [`${P}pod_container_image`]: c.image ?? '',
      [`${P}pod_container_init`]: String(isInit),
    };
    if (!c.ports?.length) {
      tg.targets.push({ __address__: ip, ...base });
      continue;
    }
    for (const p of c.ports) {
      tg.targets.push({
        __address__: joinHostPort(ip, p.containerPort),
        ...base,
        [`${P}pod_container_port_number`]: String(p.containerPort),
        [`${P}pod_container_port_name`]: p.name ?? '',
        [`${P}pod_container_port_protocol`]: p.protocol ?? '',
      });
    }
  }
  return tg;
}

export function serviceLabels(svc: Service): Record<string, string> {
  const out: Record<string, string> = { [`${P}service_name`]: svc.metadata?.name ?? '', [`${P}namespace`]: svc.metadata?.namespace ?? '' };
  addMaps(out, 'service', svc.metadata?.labels, svc.metadata?.annotations);
  return out;
}

export function buildService(svc: Service): TargetGroup {
  const m = svc.metadata ?? {};
  const tg: TargetGroup = { source: `svc/${m.namespace ?? ''}/${m.name ?? ''}`, targets: [], labels: serviceLabels(svc) };
  const type = svc.spec?.type ?? '';
  for (const port of svc.spec?.ports ?? []) {
    const t: Record<string, string> = {
      __address__: joinHostPort(`${m.name}.${m.namespace}.svc`, port.port),
      [`${P}service_port_name`]: port.name ?? '',
      [`${P}service_port_number`]: String(port.port),
      [`${P}service_port_protocol`]: port.protocol ?? '',
      [`${P}service_type`]: type,
    };
    if (type === 'ExternalName') t[`${P}service_external_name`] = svc.spec?.externalName ?? '';
    else t[`${P}service_cluster_ip`] = svc.spec?.clusterIP ?? '';
    if (type === 'LoadBalancer') t[`${P}service_loadbalancer_ip`] = svc.spec?.loadBalancerIP ?? '';
    tg.targets.push(t);
  }
  return tg;
}

const NODE_ADDRESS_ORDER = ['InternalIP', 'InternalDNS', 'ExternalIP', 'ExternalDNS', 'LegacyHostIP', 'Hostname'];

export function nodeSource(node: Node): string {
  return `node/${node.metadata?.name ?? ''}`;
}

/** The node's group, or undefined when it has no address (Prometheus then sends nothing, keeping the node's last group). */
export function buildNode(node: Node): TargetGroup | undefined {
  const m = node.metadata ?? {};
  const labels: Record<string, string> = { [`${P}node_name`]: m.name ?? '', [`${P}node_provider_id`]: node.spec?.providerID ?? '' };
  addMaps(labels, 'node', m.labels, m.annotations);
  const byType = new Map<string, string[]>();
  for (const a of node.status?.addresses ?? []) byType.set(a.type, [...(byType.get(a.type) ?? []), a.address]);
  const type = NODE_ADDRESS_ORDER.find((t) => byType.has(t));
  if (!type) return undefined;
  const ke = node.status?.daemonEndpoints?.kubeletEndpoint;
  const port = ke?.Port ?? ke?.port ?? 0;
  const target: Record<string, string> = { __address__: joinHostPort(byType.get(type)![0], port), instance: m.name ?? '' };
  for (const [t, addrs] of byType) target[sanitize(`${P}node_address_${t}`)] = addrs[0];
  return { source: nodeSource(node), targets: [target], labels };
}

export interface EndpointsContext {
  service(namespace: string, name: string): Service | undefined;
  pod(ref: ObjectRef | undefined): Pod | undefined;
  nodeLabels?: NodeLookup;
}

/** Shared by endpoints and endpointslice: pod labels for pod targets, and targets for container ports no endpoint covers. */
class PodPorts {
  private readonly seen = new Map<string, { pod: Pod; ports: number[] }>();

  /**
   * `endpointProtocol` is the endpoint port's protocol: the endpoints role
   * labels the matching container port with it, the endpointslice role with the
   * container port's own (as Prometheus 2.42 does).
   */
  attach(target: Record<string, string>, pod: Pod, port: number | undefined, endpointProtocol?: string): Labels {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    let entry = this.seen.get(key);
    if (!entry) this.seen.set(key, (entry = { pod, ports: [] }));
    const out = { ...target, ...podLabels(pod) };
    if (port !== undefined) {
      for (const c of pod.spec?.containers ?? []) {
        const cp = c.ports?.find((p) => p.containerPort === port);
        if (!cp) continue;
        out[`${P}pod_container_name`] = c.name;
        out[`${P}pod_container_image`] = c.image ?? '';
        out[`${P}pod_container_port_name`] = cp.name ?? '';
        out[`${P}pod_container_port_number`] = String(port);
        out[`${P}pod_container_port_protocol`] = endpointProtocol ?? cp.protocol ?? '';
        break;
      }
      entry.ports.push(port);
    }
    return out;
  }

  uncovered(): Labels[] {
    const out: Labels[] = [];
    for (const { pod, ports } of this.seen.values()) {
      for (const c of pod.spec?.containers ?? []) {
        for (const cp of c.ports ?? []) {
          if (ports.includes(cp.containerPort)) continue;
          out.push({
            __address__: joinHostPort(pod.status?.podIP ?? '', cp.containerPort),
            [`${P}pod_container_name`]: c.name,
            [`${P}pod_container_image`]: c.image ?? '',
            [`${P}pod_container_port_name`]: cp.name ?? '',
            [`${P}pod_container_port_number`]: String(cp.containerPort),
            [`${P}pod_container_port_protocol`]: cp.protocol ?? '',
            ...podLabels(pod),
          });
        }
      }
    }
    return out;
  }
}

/**
 * Finds a targetRef's pod as Prometheus does: by the reference's own namespace
 * and name. A reference without a namespace finds no pod, rather than one of
 * the same name in the endpoints' namespace.
 */
export function podsByRef(pods: Pod[]): (ref: ObjectRef | undefined) => Pod | undefined {
  const byKey = new Map(pods.map((p) => [`${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`, p]));
  return (ref) => (ref ? byKey.get(`${ref.namespace ?? ''}/${ref.name ?? ''}`) : undefined);
}

export function buildEndpoints(eps: Endpoints, ctx: EndpointsContext): TargetGroup {
  const m = eps.metadata ?? {};
  const ns = m.namespace ?? '';
  const labels: Record<string, string> = { [`${P}namespace`]: ns, [`${P}endpoints_name`]: m.name ?? '' };
  const svc = ctx.service(ns, m.name ?? '');
  if (svc) Object.assign(labels, serviceLabels(svc));
  for (const [k, v] of Object.entries(m.labels ?? {})) {
    labels[`${P}endpoints_label_${sanitize(k)}`] = v;
    labels[`${P}endpoints_labelpresent_${sanitize(k)}`] = 'true';
  }
  const tg: TargetGroup = { source: `endpoints/${ns}/${m.name ?? ''}`, targets: [], labels };
  const pods = new PodPorts();
  const add = (addr: { ip: string; hostname?: string; nodeName?: string; targetRef?: ObjectRef }, port: { name?: string; port: number; protocol?: string }, ready: string) => {
    let t: Record<string, string> = {
      __address__: joinHostPort(addr.ip, port.port),
      [`${P}endpoint_port_name`]: port.name ?? '',
      [`${P}endpoint_port_protocol`]: port.protocol ?? '',
      [`${P}endpoint_ready`]: ready,
    };
    if (addr.targetRef) {
      t[`${P}endpoint_address_target_kind`] = addr.targetRef.kind ?? '';
      t[`${P}endpoint_address_target_name`] = addr.targetRef.name ?? '';
    }
    if (addr.nodeName) t[`${P}endpoint_node_name`] = addr.nodeName;
    if (addr.hostname) t[`${P}endpoint_hostname`] = addr.hostname;
    if (ctx.nodeLabels) t = { ...t, ...ctx.nodeLabels(addr.nodeName) };
    const pod = addr.targetRef?.kind === 'Pod' ? ctx.pod(addr.targetRef) : undefined;
    tg.targets.push(pod ? pods.attach(t, pod, port.port, port.protocol ?? '') : t);
  };
  for (const ss of eps.subsets ?? []) {
    for (const port of ss.ports ?? []) {
      for (const a of ss.addresses ?? []) add(a, port, 'true');
      for (const a of ss.notReadyAddresses ?? []) add(a, port, 'false');
    }
  }
  tg.targets.push(...pods.uncovered());
  return tg;
}

export function buildEndpointSlice(es: EndpointSlice, ctx: EndpointsContext): TargetGroup {
  const m = es.metadata ?? {};
  const ns = m.namespace ?? '';
  const labels: Record<string, string> = {
    [`${P}namespace`]: ns,
    [`${P}endpointslice_name`]: m.name ?? '',
    [`${P}endpointslice_address_type`]: es.addressType ?? '',
  };
  const svcName = m.labels?.['kubernetes.io/service-name'];
  const svc = svcName !== undefined ? ctx.service(ns, svcName) : undefined;
  if (svc) Object.assign(labels, serviceLabels(svc));
  const tg: TargetGroup = { source: `endpointslice/${ns}/${m.name ?? ''}`, targets: [], labels };
  const pods = new PodPorts();
  for (const ep of es.endpoints ?? []) {
    for (const port of es.ports ?? []) {
      for (const addr of ep.addresses ?? []) {
        let t: Record<string, string> = { __address__: port.port !== undefined ? joinHostPort(addr, port.port) : addr };
        if (port.name !== undefined) t[`${P}endpointslice_port_name`] = port.name;
        if (port.protocol !== undefined) t[`${P}endpointslice_port_protocol`] = port.protocol;
        if (port.port !== undefined) t[`${P}endpointslice_port`] = String(port.port);
        if (port.appProtocol !== undefined) t[`${P}endpointslice_port_app_protocol`] = port.appProtocol;
        const c = ep.conditions ?? {};
        if (c.ready !== undefined) t[`${P}endpointslice_endpoint_conditions_ready`] = String(c.ready);
        if (c.serving !== undefined) t[`${P}endpointslice_endpoint_conditions_serving`] = String(c.serving);
        if (c.terminating !== undefined) t[`${P}endpointslice_endpoint_conditions_terminating`] = String(c.terminating);
        if (ep.hostname !== undefined) t[`${P}endpointslice_endpoint_hostname`] = ep.hostname;
        if (ep.targetRef) {
          t[`${P}endpointslice_address_target_kind`] = ep.targetRef.kind ?? '';
          t[`${P}endpointslice_address_target_name`] = ep.targetRef.name ?? '';
        }
        for (const [k, v] of Object.entries(ep.deprecatedTopology ?? {})) {
          t[`${P}endpointslice_endpoint_topology_${sanitize(k)}`] = v;
          t[`${P}endpointslice_endpoint_topology_present_${sanitize(k)}`] = 'true';
        }
        if (ctx.nodeLabels) t = { ...t, ...ctx.nodeLabels(ep.nodeName) };
        const pod = ep.targetRef?.kind === 'Pod' ? ctx.pod(ep.targetRef) : undefined;
        tg.targets.push(pod ? pods.attach(t, pod, port.port) : t);
      }
    }
  }
  tg.targets.push(...pods.uncovered());
  return tg;
}
