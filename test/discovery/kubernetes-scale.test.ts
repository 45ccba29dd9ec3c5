/**
 * The documented production shape end to end: the planning API's pods under an
 * autoscaler, annotated for scraping, discovered through the Kubernetes API
 * (a loopback stand-in) by a Vigil started from its config file, with an
 * `up == 0` alert rule loaded.
 */
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vigil } from '../../src/main.js';
import { waitFor } from '../helpers/net.js';
import { baseConfig, e2eDir, getJson, instantQuery, type E2EDir } from '../e2e/harness.js';
import { pod, startKubeApi, type KubeApiStandIn } from './kube-api.js';
import { configMapVigilYml } from './manifests.js';
import { startTargets, stopTargets, type FakeTarget } from './targets.js';

/** The annotation recipe exactly as deploy/kubernetes/configmap.yaml ships it. */
const ANNOTATION_RECIPE = (parse(configMapVigilYml()) as { scrape_configs: Array<{ job_name: string; relabel_configs: unknown[] }> }).scrape_configs.find(
  (c) => c.job_name === 'sical-backend',
)!.relabel_configs;

let api: KubeApiStandIn;
let targets: FakeTarget[];
let decoys: FakeTarget[];
let d: E2EDir;
let vigil: Vigil | undefined;

beforeAll(async () => {
  api = await startKubeApi();
  targets = await startTargets(10);
  decoys = await startTargets(3);
  d = e2eDir('k8s-scale');
  d.write('rules/up.yml', {
    groups: [{ name: 'up', rules: [{ alert: 'InstanceDown', expr: 'up{job="sical-backend"} == 0', for: '0s', labels: { severity: 'critical' } }] }],
  });
  d.write('vigil.yml', {
    ...baseConfig({ scrapeInterval: '500ms', evaluationInterval: '500ms' }),
    scrape_configs: [
      {
        job_name: 'sical-backend',
        kubernetes_sd_configs: [{ role: 'pod', api_server: api.url, bearer_token: api.token, tls_config: { ca_file: api.caFile }, namespaces: { names: ['sical'] } }],
        relabel_configs: ANNOTATION_RECIPE,
      },
    ],
    rule_files: ['rules/*.yml'],
  });
});

afterAll(async () => {
  await vigil?.stop();
  await api.close();
  await stopTargets([...targets, ...decoys]);
  d?.remove();
});

const podName = (i: number) => `sical-backend-${i}`;
const scraped = (v: Vigil) => v.collectors.targets().filter((t) => t.scrapePool === 'sical-backend').map((t) => t.labels.pod ?? '').sort();
const expected = (n: number) => Array.from({ length: n }, (_, i) => podName(i)).sort();

const sameList = (a: string[], b: string[]) => JSON.stringify(a) === JSON.stringify(b);
/** Pods as the pod role sees them: those with an address, with their readiness. */
const apiPods = () =>
  api
    .list('Pod')
    .filter((p) => p.status?.podIP)
    .map((p) => `${p.metadata.name}:${(p.status.conditions as Array<{ type: string; status: string }>).find((c) => c.type === 'Ready')!.status.toLowerCase()}`)
    .sort();
const discoveredPods = (v: Vigil) => v.discovery.groups('sical-backend').map((g) => `${g.labels.__meta_kubernetes_pod_name}:${g.labels.__meta_kubernetes_pod_ready}`).sort();

/**
 * Within one refresh: once the watch has brought the cluster's current pods to
 * discovery, a single discovery update leaves exactly `want` scraped.
 */
async function oneRefresh(v: Vigil, want: string[]): Promise<void> {
  await waitFor(() => sameList(discoveredPods(v), apiPods()), 15_000).catch((err: Error) => {
    throw new Error(`${err.message}; discovered ${JSON.stringify(discoveredPods(v))}, API ${JSON.stringify(apiPods())}, discovery ${JSON.stringify(v.discovery.status())}`);
  });
  await v.discovery.refreshAll();
  expect(scraped(v), `dropped ${v.collectors.droppedTargets().length}`).toEqual(want);
}

describe('annotated pods scaled 3 -> 10 -> 3', () => {
  it('scrapes exactly the running, ready, annotated pods; removed pods go stale and raise no alert', async () => {
    for (let i = 0; i < 3; i++) api.apply('Pod', pod({ name: podName(i), ip: '127.0.0.1', port: targets[i].port }));
    // Pods that must never be scraped: not annotated, not ready, still pending.
    api.apply('Pod', pod({ name: 'worker', ip: '127.0.0.1', port: decoys[0].port, annotated: false }));
    api.apply('Pod', pod({ name: 'sical-backend-starting', ip: '127.0.0.1', port: decoys[1].port, ready: false }));
    api.apply('Pod', pod({ name: 'sical-backend-pending', port: decoys[2].port, phase: 'Pending', ready: false }));

    vigil = await d.start();
    const v = vigil;
    await oneRefresh(v, expected(3));
    const t0 = v.collectors.targets().find((t) => t.labels.pod === podName(0))!;
    expect(t0.labels).toEqual({ job: 'sical-backend', instance: targets[0].address, namespace: 'sical', pod: podName(0), app: 'sical-backend' });
    expect(t0.scrapeUrl).toBe(`http://${targets[0].address}/metrics`);
    await waitFor(async () => (await instantQuery(v.url, 'up{job="sical-backend"} == 1')).length === 3, 15_000);

    // Scale up: seven more replicas.
    for (let i = 3; i < 10; i++) api.apply('Pod', pod({ name: podName(i), ip: '127.0.0.1', port: targets[i].port }));
    await oneRefresh(v, expected(10));
    await waitFor(() => targets.every((t) => t.log.length > 0), 15_000);
    await waitFor(async () => (await instantQuery(v.url, 'up{job="sical-backend"} == 1')).length === 10, 15_000);

    // Scale down as Kubernetes does it: the pods turn unready (terminating), are deleted, then their processes exit.
    const removedAt = Date.now();
    for (let i = 3; i < 10; i++) api.apply('Pod', pod({ name: podName(i), ip: '127.0.0.1', port: targets[i].port, ready: false }));
    for (let i = 3; i < 10; i++) api.remove('Pod', 'sical', podName(i));
    await oneRefresh(v, expected(3));
    await stopTargets(targets.slice(3));

    // Their series end: no `up` at all for them any more, while the three stay up.
    expect(await instantQuery(v.url, 'up{job="sical-backend"}')).toHaveLength(3);
    // Every series of theirs ended, not only `up`: scraped samples and scrape_* alike.
    const live = await instantQuery(v.url, 'count by (pod) ({job="sical-backend"})');
    expect(live.map((r) => r.metric.pod).sort()).toEqual(expected(3));
    const removedUp = await instantQuery(v.url, `last_over_time(up{job="sical-backend",pod=~"${expected(10).slice(3).join('|')}"}[1h])`);
    expect(removedUp.map((r) => r.value[1])).toEqual(Array(7).fill('1'));

    // Several evaluations after the scale-down, no InstanceDown alert ever existed, not even pending.
    await waitFor(async () => {
      const g = await getJson<{ data: { groups: Array<{ rules: Array<{ lastEvaluation: string }> }> } }>(`${v.url}/api/v1/rules`);
      return Date.parse(g.data.groups[0]?.rules[0]?.lastEvaluation ?? '') > Date.now() - 100 && Date.now() - removedAt > 2_000;
    }, 15_000);
    expect(await instantQuery(v.url, 'count_over_time(ALERTS{alertname="InstanceDown"}[1h])')).toEqual([]);
    expect(decoys.every((t) => t.log.length === 0)).toBe(true);

    // Control: a pod that is still listed and stops answering does alert.
    await stopTargets([targets[2]]);
    await waitFor(async () => (await instantQuery(v.url, 'ALERTS{alertname="InstanceDown"}')).length === 1, 15_000);
    const alerts = await instantQuery(v.url, 'ALERTS{alertname="InstanceDown"}');
    expect(alerts[0].metric.pod).toBe(podName(2));
  }, 120_000);
});
