/**
 * The parts of Kubernetes objects discovery reads. Lists come through the
 * client's typed models and watch events as the API's JSON; the field names
 * are the same except the kubelet endpoint's `Port`, handled where it is read.
 */
export interface Meta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ kind?: string; name?: string; controller?: boolean }>;
}

export interface KObject {
  metadata?: Meta;
}

export interface ContainerPort {
  containerPort: number;
  name?: string;
  protocol?: string;
}

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
}

export interface Pod extends KObject {
  spec?: { nodeName?: string; containers?: Container[]; initContainers?: Container[] };
  status?: {
    podIP?: string;
    hostIP?: string;
    phase?: string;
    conditions?: Array<{ type?: string; status?: string }>;
    containerStatuses?: Array<{ name?: string; containerID?: string }>;
    initContainerStatuses?: Array<{ name?: string; containerID?: string }>;
  };
}

export interface Service extends KObject {
  spec?: {
    type?: string;
    clusterIP?: string;
    externalName?: string;
    loadBalancerIP?: string;
    ports?: Array<{ name?: string; port: number; protocol?: string }>;
  };
}

export interface ObjectRef {
  kind?: string;
  name?: string;
  namespace?: string;
}

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: ObjectRef;
}

export interface Endpoints extends KObject {
  subsets?: Array<{
    addresses?: EndpointAddress[];
    notReadyAddresses?: EndpointAddress[];
    ports?: Array<{ name?: string; port: number; protocol?: string }>;
  }>;
}

export interface EndpointSlice extends KObject {
  addressType?: string;
  endpoints?: Array<{
    addresses?: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    hostname?: string;
    nodeName?: string;
    targetRef?: ObjectRef;
    deprecatedTopology?: Record<string, string>;
  }>;
  ports?: Array<{ name?: string; port?: number; protocol?: string; appProtocol?: string }>;
}

export interface Node extends KObject {
  spec?: { providerID?: string };
  status?: {
    addresses?: Array<{ type: string; address: string }>;
    daemonEndpoints?: { kubeletEndpoint?: { port?: number; Port?: number } };
  };
}
