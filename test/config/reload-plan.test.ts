/** Which changed settings a reload applies and which need a restart (named). */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { planReload } from '../../src/reload-plan.js';

const base = 'server: {listen: "127.0.0.1:9470"}\n';
const withBase = (t: string) => (t.includes('server:') ? t : base + t);
const plan = (a: string, b: string) => planReload(parseConfig(withBase(a), 'a.yml', { env: {} }), parseConfig(withBase(b), 'b.yml', { env: {} }));

describe('reload plan', () => {
  it.each([
    ['global: {scrape_interval: 15s}', 'global: {scrape_interval: 30s}', 'global.scrape_interval'],
    ['global: {evaluation_interval: 15s}', 'global: {evaluation_interval: 30s}', 'global.evaluation_interval'],
    ['global: {external_labels: {a: "1"}}', 'global: {external_labels: {a: "2"}}', 'global.external_labels'],
    ['global: {}', 'global: {scrape_native_histograms: true}', 'global.scrape_native_histograms'],
    ['global: {}', 'global: {scrape_protocols: [PrometheusProto]}', 'global.scrape_protocols'],
    ['rule_files: [a.yml]', 'rule_files: [b.yml]', 'rule_files'],
    ["scrape_configs: [{job_name: a, static_configs: [{targets: ['x:1']}]}]", "scrape_configs: [{job_name: a, static_configs: [{targets: ['x:2']}]}]", 'scrape_configs'],
    ['alerting: {config_file: a.yml}', 'alerting: {config_file: b.yml}', 'alerting.config_file'],
    ['alerting: {config_file: a.yml}', "alerting: {config_file: a.yml, alertmanagers: [{url: 'http://am:9093'}]}", 'alerting.alertmanagers'],
    ['grafana: {url: "http://g:3000"}', 'grafana: {url: "http://h:3000"}', 'grafana'],
    ['server: {listen: "127.0.0.1:9470", token: a}', 'server: {listen: "127.0.0.1:9470", token: b}', 'server.token'],
    ['server: {listen: "127.0.0.1:9470", shutdown_timeout: 10s}', 'server: {listen: "127.0.0.1:9470", shutdown_timeout: 20s}', 'server.shutdown_timeout'],
  ])('applies %s -> %s (%s)', (a, b, setting) => {
    expect(plan(a, b)).toEqual({ changed: [setting], needsRestart: [] });
  });

  it.each([
    ['server: {listen: "127.0.0.1:9470"}', 'server: {listen: "127.0.0.1:9471"}', 'server.listen'],
    ['server: {listen: "127.0.0.1:9470"}', 'server: {listen: "127.0.0.1:9470", body_limit: 2MiB}', 'server.body_limit'],
    ['storage: {retention: 1d}', 'storage: {retention: 2d}', 'storage.retention'],
    ['storage: {path: a}', 'storage: {path: b}', 'storage.path'],
    ['logs: {self: false}', 'logs: {self: true}', 'logs'],
    ['alerting: {config_file: a.yml}', 'alerting: {config_file: a.yml, redis_url: "redis://x"}', 'alerting.redis_url'],
  ])('refuses %s -> %s, naming %s', (a, b, setting) => {
    expect(plan(a, b).needsRestart).toContain(setting);
  });

  it('turning notifications on or off needs a restart; nothing changed is an empty plan', () => {
    expect(plan('', 'alerting: {config_file: a.yml}').needsRestart).toContain('alerting');
    expect(plan('rule_files: [a.yml]', 'rule_files: [a.yml]')).toEqual({ changed: [], needsRestart: [] });
  });
});
