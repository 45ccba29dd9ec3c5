import { describe, expect, it } from 'vitest';
import { relabelConfigSchema, type RelabelConfig } from '../../src/config/collectors.js';
import { parseConfig } from '../../src/config/index.js';
import { compileRelabel, hashMod, relabel } from '../../src/collectors/relabel.js';
import { compileRegex, expandTemplate } from '../../src/model/regex.js';

const cfg = (c: Record<string, unknown>): RelabelConfig => relabelConfigSchema.parse(c);
const run = (labels: Record<string, string>, ...cs: Array<Record<string, unknown>>) => relabel(labels, compileRelabel(cs.map(cfg)));

describe('relabeling', () => {
  const base = { __name__: 'http_requests_total', method: 'GET', endpoint: '/api/plans', status: '503', instance: 'api-1:8080' };

  it('replace with groups, separator and defaults', () => {
    expect(run(base, { source_labels: ['method', 'status'], regex: '(.*);(5)..', target_label: 'class', replacement: '${1}_${2}xx' })).toMatchObject({ class: 'GET_5xx' });
    expect(run(base, { source_labels: ['instance'], regex: '([^:]+):.*', target_label: 'host' })).toMatchObject({ host: 'api-1' });
    // No match leaves labels untouched; an empty result deletes the target.
    expect(run(base, { source_labels: ['method'], regex: 'POST', target_label: 'x', replacement: 'y' })).toEqual(base);
    expect(run(base, { source_labels: ['nope'], target_label: 'method' })).not.toHaveProperty('method');
    // Named groups and target label templates.
    expect(run(base, { source_labels: ['endpoint'], regex: '/(?P<area>[a-z]+)/(.*)', target_label: '${area}_path', replacement: '$2' })).toMatchObject({ api_path: 'plans' });
  });

  it('regexes are anchored', () => {
    expect(run(base, { source_labels: ['status'], regex: '5', action: 'keep' })).toBeNull();
    expect(run(base, { source_labels: ['status'], regex: '5..', action: 'keep' })).toEqual(base);
  });

  it('keep, drop, keepequal, dropequal', () => {
    expect(run(base, { source_labels: ['__name__'], regex: 'http_.*', action: 'drop' })).toBeNull();
    expect(run(base, { source_labels: ['__name__'], regex: 'go_.*', action: 'drop' })).toEqual(base);
    expect(run({ ...base, a: 'x', b: 'x' }, { source_labels: ['a'], target_label: 'b', action: 'keepequal' })).not.toBeNull();
    expect(run({ ...base, a: 'x', b: 'y' }, { source_labels: ['a'], target_label: 'b', action: 'keepequal' })).toBeNull();
    expect(run({ ...base, a: 'x', b: 'x' }, { source_labels: ['a'], target_label: 'b', action: 'dropequal' })).toBeNull();
  });

  it('hashmod uses the low 64 bits of md5 like Prometheus', () => {
    const r = run(base, { source_labels: ['instance'], target_label: 'shard', modulus: 8, action: 'hashmod' });
    expect(r?.shard).toBe(String(hashMod('api-1:8080', 8)));
    expect(Number(r?.shard)).toBeLessThan(8);
  });

  it('labelmap, labeldrop, labelkeep, lowercase, uppercase', () => {
    expect(run({ __name__: 'x', __meta_pod_label_app: 'api' }, { regex: '__meta_pod_label_(.+)', action: 'labelmap' })).toMatchObject({ app: 'api' });
    expect(run(base, { regex: 'end.*|status', action: 'labeldrop' })).toEqual({ __name__: base.__name__, method: 'GET', instance: base.instance });
    expect(run(base, { regex: '__name__|method', action: 'labelkeep' })).toEqual({ __name__: base.__name__, method: 'GET' });
    expect(run(base, { source_labels: ['method'], target_label: 'm', action: 'lowercase' })).toMatchObject({ m: 'get' });
    expect(run(base, { source_labels: ['endpoint'], target_label: 'e', action: 'uppercase' })).toMatchObject({ e: '/API/PLANS' });
  });

  it('never mutates its input', () => {
    const input = { ...base };
    run(input, { regex: 'method', action: 'labeldrop' });
    expect(input).toEqual(base);
  });

  it('expands templates like Go regexp.Expand', () => {
    const m = compileRegex('(a)(b)').exec('ab')!;
    expect(expandTemplate('$1-${2}-$$-$3-$1x', m)).toBe('a-b-$--');
  });
});

describe('scrape config validation', () => {
  const bad = (yaml: string) => {
    try {
      parseConfig(yaml, 'vigil.yml', { env: {} });
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('expected an error');
  };

  it('accepts what Prometheus accepts', () => {
    const c = parseConfig(
      `global: {scrape_interval: 15s, scrape_timeout: 10s}
scrape_configs:
  - job_name: sical-backend
    scrape_interval: 5s
    scrape_timeout: 2s
    metrics_path: /metrics
    scheme: https
    params: {module: [http_2xx]}
    honor_labels: true
    honor_timestamps: false
    sample_limit: 10000
    label_limit: 30
    body_size_limit: 10MB
    basic_auth: {username: u, password: p}
    tls_config: {insecure_skip_verify: true}
    static_configs:
      - targets: ['api-1:8080', '[::1]:8080', 'localhost']
        labels: {env: prod}
    relabel_configs:
      - {source_labels: [__address__], regex: '(.*):8080', target_label: instance, replacement: '$1'}
    metric_relabel_configs:
      - {source_labels: [__name__], regex: 'go_.*', action: drop}
      - {regex: 'pod_template_hash', action: labeldrop}
  - job_name: bearer
    authorization: {credentials: secret}
    targets: ['x:1']
`,
      'vigil.yml',
      { env: {} },
    );
    expect(c.scrape_configs[0].body_size_limit).toBe(10_000_000);
    expect(c.scrape_configs[0].scrape_interval).toBe(5000);
    expect(c.scrape_configs[1].authorization?.type).toBe('Bearer');
  });

  it('names the path and line of every error', () => {
    expect(bad(`scrape_configs:
  - job_name: a
    targets: ['ok:1']
  - job_name: a
    static_configs: [{targets: ['x:1']}]
`)).toMatch(/line 4: scrape_configs\[1\]\.job_name: duplicate job_name "a" \(first at scrape_configs\[0\]\)/);
    expect(bad('scrape_configs: [{job_name: x, scrape_interval: 5s, scrape_timeout: 10s}]')).toMatch(
      /line 1: scrape_configs\[0\]\.scrape_timeout: scrape_timeout must not be greater than scrape_interval/,
    );
    const msg = bad(`scrape_configs:
  - job_name: a
    targets: ['ok:1']
  - job_name: b
    static_configs: [{targets: ['x:1']}]
  - job_name: c
    scrape_interval: 5s
    scrape_timeout: 10s
    targets: ['ok:1', 'http://api:8080/metrics']
    metric_relabel_configs:
      - {action: nonsense}
      - {action: hashmod, source_labels: [a], target_label: b}
      - {regex: '(unclosed', target_label: x}
    bogus_key: 1
health_checks:
  - {url: 'ftp://x'}
postgres: {dsn: 'mysql://u:secretpw@h/db'}
redis: {url: 'http://x'}
`);
    expect(msg).toMatch(/line 9: scrape_configs\[2\]\.targets\[1\]: must be host:port/);
    expect(msg).toMatch(/scrape_configs\[2\]\.metric_relabel_configs\[0\]\.action/);
    expect(msg).toMatch(/scrape_configs\[2\]\.metric_relabel_configs\[1\]\.modulus: .*modulus greater than 0/);
    expect(msg).toMatch(/scrape_configs\[2\]\.metric_relabel_configs\[2\]\.regex: invalid regex/);
    expect(msg).toMatch(/scrape_configs\[2\]: Unrecognized key: "bogus_key"/i);
    expect(msg).toMatch(/health_checks\[0\]\.url: must be an http/);
    expect(msg).toMatch(/postgres\.dsn: must be a postgres:\/\//);
    expect(msg).toMatch(/redis\.url: must be a redis/);
    // Secrets in a DSN are never echoed back.
    expect(msg).not.toContain('secretpw');
  });

  it('rejects hostile values with clear errors', () => {
    expect(bad('scrape_configs: [{job_name: "", targets: ["a:1"]}]')).toMatch(/job_name must not be empty/);
    expect(bad('scrape_configs: [{job_name: x, sample_limit: -1}]')).toMatch(/scrape_configs\[0\]\.sample_limit/);
    expect(bad('scrape_configs: [{job_name: x, body_size_limit: lots}]')).toMatch(/not a valid size/);
    expect(bad('scrape_configs: [{job_name: x, static_configs: [{targets: ["a:1"], labels: {"1bad": v}}]}]')).toMatch(/scrape_configs\[0\]\.static_configs\[0\]\.labels\.1bad/);
    expect(bad('scrape_configs: [{job_name: x, basic_auth: {username: u}, authorization: {credentials: c}}]')).toMatch(/at most one of basic_auth and authorization/);
    expect(bad('scrape_configs: {job_name: x}')).toMatch(/scrape_configs/);
  });
});
