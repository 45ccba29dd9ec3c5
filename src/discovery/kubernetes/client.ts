/**
 * The client configuration of a kubernetes_sd_config, as Prometheus resolves
 * it: `kubeconfig_file`, or `api_server` with the block's HTTP settings, or
 * in-cluster (service account token, CA and namespace mounted in the pod).
 */
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubernetesSdConfig } from '../../config/discovery.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export function kubeConfigFor(cfg: KubernetesSdConfig, baseDir: string, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  if (cfg.kubeconfig_file) {
    kc.loadFromFile(resolvePath(cfg.kubeconfig_file, baseDir));
    return kc;
  }
  if (!cfg.api_server) {
    if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT) {
      throw new Error('kubernetes_sd_configs: no api_server or kubeconfig_file, and not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset)');
    }
    kc.loadFromCluster();
    return kc;
  }
  const tls = cfg.tls_config;
  const user: Record<string, unknown> = { name: 'vigil' };
  const token = cfg.bearer_token ?? (cfg.bearer_token_file ? readFileSync(resolvePath(cfg.bearer_token_file, baseDir), 'utf8').trim() : undefined);
  if (token) user.token = token;
  if (cfg.authorization) {
    const cred = cfg.authorization.credentials ?? (cfg.authorization.credentials_file ? readFileSync(resolvePath(cfg.authorization.credentials_file, baseDir), 'utf8').trim() : '');
    user.token = cred;
  }
  if (cfg.basic_auth) {
    user.username = cfg.basic_auth.username;
    user.password = cfg.basic_auth.password ?? (cfg.basic_auth.password_file ? readFileSync(resolvePath(cfg.basic_auth.password_file, baseDir), 'utf8').trim() : '');
  }
  if (tls?.cert_file) user.certFile = resolvePath(tls.cert_file, baseDir);
  if (tls?.key_file) user.keyFile = resolvePath(tls.key_file, baseDir);
  kc.loadFromOptions({
    clusters: [
      {
        name: 'vigil',
        server: cfg.api_server.replace(/\/+$/, ''),
        // The client refuses plain http unless told to skip TLS checks; there are none to skip then.
        skipTLSVerify: (tls?.insecure_skip_verify ?? false) || cfg.api_server.startsWith('http:'),
        caFile: tls?.ca_file ? resolvePath(tls.ca_file, baseDir) : undefined,
        tlsServerName: tls?.server_name,
      },
    ],
    users: [user],
    contexts: [{ name: 'vigil', cluster: 'vigil', user: 'vigil' }],
    currentContext: 'vigil',
  });
  return kc;
}

/** The namespaces to watch; empty means all of them. */
export function namespacesFor(cfg: KubernetesSdConfig, kc: KubeConfig): string[] {
  const names = [...cfg.namespaces.names];
  if (cfg.namespaces.own_namespace) {
    let own: string | undefined;
    try {
      own = readFileSync(`${SERVICE_ACCOUNT_DIR}/namespace`, 'utf8').trim();
    } catch {
      own = kc.getContextObject(kc.getCurrentContext())?.namespace;
    }
    if (!own) throw new Error('kubernetes_sd_configs: namespaces.own_namespace is set but the own namespace is unknown');
    names.push(own);
  }
  return [...new Set(names)];
}

function resolvePath(p: string, baseDir: string): string {
  return p.startsWith('/') ? p : `${baseDir}/${p}`;
}
