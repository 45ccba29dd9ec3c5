/**
 * Label details of the endpoints and endpointslice roles that the stand-in
 * cluster does not reach, checked against Prometheus 2.42's
 * discovery/kubernetes (endpoints.go, endpointslice.go). The Debian
 * Prometheus is built without Kubernetes discovery, so its source is the
 * reference here.
 */
import { describe, expect, it } from 'vitest';
import { buildEndpointSlice, buildEndpoints, podsByRef } from '../../src/discovery/kubernetes/labels.js';
import type { Pod } from '../../src/discovery/kubernetes/objects.js';

// A metrics container whose port declares no protocol, and a second port no endpoint covers.
const pod: Pod = {
  metadata: { name: 'web-0', namespace: 'sical', uid: 'u1' },
  spec: { nodeName: 'node-1', containers: [{ name: 'api', image: 'sical/backend:1', ports: [{ name: 'http', containerPort: 8080 }, { name: 'debug', containerPort: 6060, protocol: 'TCP' }] }] },
  status: { podIP: '10.1.0.10', phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
};
const ctx = { service: () => undefined, pod: () => pod };
const ref = { kind: 'Pod', name: 'web-0', namespace: 'sical' };

describe('kubernetes_sd container port labels on endpoint targets', () => {
  it('a targetRef finds its pod by its own namespace; one without a namespace finds none', () => {
    const find = podsByRef([pod]);
    expect(find(ref)).toBe(pod);
    expect(find({ kind: 'Pod', name: 'web-0' })).toBeUndefined();
    expect(find({ kind: 'Pod', name: 'web-0', namespace: 'other' })).toBeUndefined();
    expect(find(undefined)).toBeUndefined();
  });

  it('endpoints: the container port takes the endpoint port protocol', () => {
    const g = buildEndpoints({ metadata: { name: 'web', namespace: 'sical' }, subsets: [{ addresses: [{ ip: '10.1.0.10', targetRef: ref }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }] }, ctx);
    expect(g.targets.find((t) => t.__address__ === '10.1.0.10:8080')).toMatchObject({ __meta_kubernetes_endpoint_port_protocol: 'TCP', __meta_kubernetes_pod_container_port_protocol: 'TCP', __meta_kubernetes_pod_container_port_name: 'http' });
    // The uncovered container port is a target of its own, with the pod's labels.
    expect(g.targets.find((t) => t.__address__ === '10.1.0.10:6060')).toMatchObject({ __meta_kubernetes_pod_container_port_name: 'debug', __meta_kubernetes_pod_container_port_protocol: 'TCP', __meta_kubernetes_pod_name: 'web-0' });
  });

  it('endpointslice: the container port keeps its own protocol', () => {
    const g = buildEndpointSlice(
      {
        metadata: { name: 'web-abc', namespace: 'sical', labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.1.0.10'], conditions: { ready: true }, targetRef: ref }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
      ctx,
    );
    const t = g.targets.find((x) => x.__address__ === '10.1.0.10:8080')!;
    expect(t).toMatchObject({ __meta_kubernetes_endpointslice_port_protocol: 'TCP', __meta_kubernetes_pod_container_port_name: 'http' });
    expect(t.__meta_kubernetes_pod_container_port_protocol).toBe('');
    expect(g.targets.map((x) => x.__address__).sort()).toEqual(['10.1.0.10:6060', '10.1.0.10:8080']);
  });
});
