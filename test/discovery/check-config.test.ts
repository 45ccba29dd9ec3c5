import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/check-config.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-check-sd-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

async function check(yaml: string): Promise<{ code: number; out: string }> {
  const file = join(dir, 'vigil.yml');
  writeFileSync(file, yaml);
  let out = '';
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (out += a.join(' ') + '\n'));
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += a.join(' ') + '\n'));
  const code = await run([file]);
  return { code, out };
}

describe('vigil check config: discovery blocks', () => {
  it('accepts every provider with Prometheus keys', async () => {
    writeFileSync(join(dir, 'kubeconfig'), 'apiVersion: v1\nkind: Config\n');
    writeFileSync(join(dir, 'targets.yml'), "- targets: ['a:1']\n");
    writeFileSync(join(dir, 'token'), 'secret\n');
    const r = await check(`scrape_configs:
  - job_name: all
    file_sd_configs: [{files: ['targets.yml', 'sd/*.json'], refresh_interval: 30s}]
    dns_sd_configs: [{names: [_m._tcp.example.org]}, {names: [db.example.org], type: A, port: 9187}]
    http_sd_configs: [{url: 'https://sd.example.org/targets', bearer_token_file: token}]
    kubernetes_sd_configs:
      - role: endpointslice
        kubeconfig_file: kubeconfig
        namespaces: {names: [sical]}
        selectors: [{role: pod, label: 'app=sical-backend'}, {role: service, field: 'metadata.name!=x'}]
      - {role: node, api_server: 'https://10.0.0.1:6443', tls_config: {insecure_skip_verify: true}}
sharding: {redis_url: 'redis://127.0.0.1:6379', heartbeat_interval: 1s, member_timeout: 5s}
`);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('names the line and field of every mistake', async () => {
    const r = await check(`scrape_configs:
  - job_name: k
    kubernetes_sd_configs:
      - role: pods
      - role: pod
        selectors: [{role: service, label: 'a=b'}, {role: pod, label: 'x y z'}]
    dns_sd_configs:
      - names: [db.example.org]
        type: A
    http_sd_configs:
      - url: ftp://sd.example.org/
        refresh_interval: soon
    file_sd_configs:
      - files: [targets.txt]
  - job_name: k2
    kubernetes_sd_configs:
      - role: pod
        tls_config: {insecure_skip_verify: true}
      - role: pod
        api_server: 'https://10.0.0.1:6443'
        namespaces: {own_namespace: true}
      - role: pod
        kubeconfig_file: kubeconfig
        bearer_token: x
sharding: {heartbeat_interval: 2s, member_timeout: 3s}
`);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/line 4: scrape_configs\[0\]\.kubernetes_sd_configs\[0\]\.role: role must be one of pod, endpoints/);
    // Prometheus's wording: the discovery role names the selectors it allows.
    expect(r.out).toMatch(/line 6: scrape_configs\[0\]\.kubernetes_sd_configs\[1\]\.selectors\[0\]\.role: pod role supports only pod selectors/);
    expect(r.out).toMatch(/line 6: scrape_configs\[0\]\.kubernetes_sd_configs\[1\]\.selectors\[1\]\.label: invalid label selector "x y z"/);
    expect(r.out).toMatch(/line 8: scrape_configs\[0\]\.dns_sd_configs\[0\]\.port: a port is required for A records/);
    expect(r.out).toMatch(/line 11: scrape_configs\[0\]\.http_sd_configs\[0\]\.url: must be an http:\/\/ or https:\/\/ URL/);
    expect(r.out).toMatch(/line 12: scrape_configs\[0\]\.http_sd_configs\[0\]\.refresh_interval: /);
    expect(r.out).toMatch(/line 14: scrape_configs\[0\]\.file_sd_configs\[0\]\.files\[0\]: must end in \.json, \.yml or \.yaml/);
    // Prometheus's rejections: HTTP settings without api_server (in-cluster would ignore them),
    // own_namespace outside the cluster, HTTP settings beside a kubeconfig.
    expect(r.out).toMatch(/line 17: scrape_configs\[1\]\.kubernetes_sd_configs\[0\]\.api_server: to use custom HTTP client configuration please provide the api_server URL explicitly/);
    expect(r.out).toMatch(/line 21: scrape_configs\[1\]\.kubernetes_sd_configs\[1\]\.namespaces\.own_namespace: cannot use api_server and namespaces\.own_namespace together/);
    expect(r.out).toMatch(/line 23: scrape_configs\[1\]\.kubernetes_sd_configs\[2\]\.kubeconfig_file: cannot use a custom HTTP client configuration together with kubeconfig_file/);
    expect(r.out).toMatch(/line 25: sharding\.member_timeout: member_timeout must be at least twice heartbeat_interval/);
  });

  it('reads the file_sd target files that exist and names file and line, and checks kubeconfig files', async () => {
    writeFileSync(join(dir, 'bad.json'), '[\n  {"targets": ["a:1"]},\n  {"targets": ["b:2"], "lables": {}}\n]\n');
    const r = await check(`scrape_configs:
  - job_name: f
    file_sd_configs: [{files: ['*.json']}]
    kubernetes_sd_configs: [{role: pod, kubeconfig_file: missing-kubeconfig}]
`);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${join(dir, 'bad.json')}:3: [1]: Unrecognized key: "lables"`);
    expect(r.out).toContain(`kubeconfig_file: ${join(dir, 'missing-kubeconfig')} does not exist`);
  });
});
