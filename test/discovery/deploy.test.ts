import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { requireBinary } from '../helpers/services.js';
import { configMapVigilYml, DEPLOY_DIR } from './manifests.js';

const run = promisify(execFile);

describe('deploy/kubernetes', () => {
  it('the ConfigMap holds a valid vigil.yml discovering the annotated sical-backend pods', () => {
    const config = parseConfig(configMapVigilYml(), 'configmap.yaml:vigil.yml', { env: {} });
    const job = config.scrape_configs.find((c) => c.job_name === 'sical-backend')!;
    expect(job.kubernetes_sd_configs).toMatchObject([{ role: 'pod', namespaces: { own_namespace: true } }]);
    expect(job.relabel_configs.map((r) => r.action)).toEqual(['keep', 'keep', 'keep', 'replace', 'replace', 'labelmap', 'replace', 'replace']);
  });

  it('kustomize renders ServiceAccount, Role(Binding) limited to pods list/watch, ConfigMap, Deployment, Service', async () => {
    const kubectl = requireBinary('kubectl', 'kubernetes-client');
    if (!kubectl) return;
    const { stdout } = await run(kubectl, ['kustomize', DEPLOY_DIR]);
    const docs = parseAllDocuments(stdout).map((d) => d.toJS() as { kind: string; metadata: { namespace?: string }; rules?: unknown; spec?: any });
    expect(docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
    for (const d of docs) expect(d.metadata.namespace).toBe('sical');
    expect(docs.find((d) => d.kind === 'Role')!.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] }]);
    const pod = docs.find((d) => d.kind === 'Deployment')!.spec.template.spec;
    expect(pod.serviceAccountName).toBe('vigil');
    expect(pod.securityContext.runAsNonRoot).toBe(true);
  });
});
