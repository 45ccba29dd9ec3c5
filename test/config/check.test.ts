/**
 * `vigil check config` and `vigil start` refuse the same configurations: each
 * case below is checked through loadValidatedConfig (what both run) and
 * through startVigil itself, with file and line in the message, and with every
 * error of a file listed at once.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNotifierConfig } from '../../src/alerts/notify/loader.js';
import { run as checkConfig } from '../../src/cli/check-config.js';
import { resolveAlertingPaths } from '../../src/config/alerting.js';
import { loadValidatedConfig } from '../../src/config-check.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { startVigil } from '../../src/main.js';
import { makeTestCerts } from '../helpers/tls-certs.js';

const root = mkdtempSync(join(tmpdir(), 'vigil-check-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function dir(files: Record<string, string>): string {
  const d = join(root, `c${n++}`);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(d, rel)), { recursive: true });
    writeFileSync(join(d, rel), text);
  }
  return join(d, 'vigil.yml');
}

const BASE = 'server: {listen: "127.0.0.1:0"}\nstorage: {path: data}\nlogs: {self: false}\n';
const AM = 'route: {receiver: r}\nreceivers: [{name: r}]\n';

async function issues(file: string): Promise<string> {
  try {
    await loadValidatedConfig(file, { env: {} });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  return '';
}

/** start refuses it too (before or while starting). */
async function startRefuses(file: string): Promise<string> {
  try {
    const v = await startVigil(await loadValidatedConfig(file, { env: {} }), { logger: silentLogger(), listen: '127.0.0.1:0' });
    await v.stop();
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}

describe('check config = start', () => {
  it('a rule glob that matches nothing is an error naming where it looked', async () => {
    const f = dir({ 'vigil.yml': `${BASE}rule_files:\n  - rules/*.yml\n` });
    const m = (await issues(f));
    expect(m).toMatch(/line 5: rule_files\[0\]: rules\/\*\.yml: matches no file \(looked for .*rules\/\*\.yml; rule_files resolve against the config file's directory\)/);
    expect(await startRefuses(f)).toMatch(/matches no file/);
    // Even through startVigil with a config loaded without the checks, the rule manager refuses.
    await expect(startVigil(loadConfig(f, { env: {} }), { logger: silentLogger(), listen: '127.0.0.1:0' })).rejects.toThrow(/matches no file/);
  });

  it('a missing rule file, and an invalid one, with the rule file line', async () => {
    const f = dir({ 'vigil.yml': `${BASE}rule_files: [rules/a.yml, missing.yml]\n`, 'rules/a.yml': 'groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up ==\n' });
    const m = (await issues(f));
    expect(m).toMatch(/rule_files\[0\]: .*a\.yml.*5/);
    expect(m).toMatch(/rule_files\[1\]: missing\.yml: no such file/);
  });

  it('a missing or invalid alerting.config_file, resolved against the config directory', async () => {
    let f = dir({ 'vigil.yml': `${BASE}alerting: {config_file: alerting/am.yml}\n` });
    expect((await issues(f))).toMatch(/line 4: alerting\.config_file: .*alerting\/am\.yml: cannot read file/);
    expect(await startRefuses(f)).toMatch(/am\.yml/);
    f = dir({ 'vigil.yml': `${BASE}alerting: {config_file: alerting/am.yml}\n`, 'alerting/am.yml': 'route: {receiver: nobody}\nreceivers: [{name: r}]\n' });
    expect((await issues(f))).toMatch(/alerting\.config_file: .*am\.yml: line 1: route\.receiver: undefined receiver "nobody"/);
    f = dir({ 'vigil.yml': `${BASE}alerting: {config_file: alerting/am.yml}\n`, 'alerting/am.yml': AM });
    expect((await issues(f))).toBe('');
  });

  it("a job's scrape_timeout above its interval (own or global)", async () => {
    const f = dir({
      'vigil.yml': `${BASE}global: {scrape_interval: 10s, scrape_timeout: 5s}\nscrape_configs:\n  - job_name: a\n    scrape_timeout: 20s\n    static_configs: [{targets: ['localhost:9']}]\n`,
    });
    expect((await issues(f))).toMatch(/line 7: scrape_configs\[0\]\.scrape_timeout: scrape_timeout 20s is greater than the job's scrape_interval 10s \(job a\)/);
    expect(await startRefuses(f)).toMatch(/scrape_timeout 20s/);
  });

  it('a target without a port takes the scheme default port, as in Prometheus: accepted by both', async () => {
    const f = dir({ 'vigil.yml': `${BASE}scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['localhost']}]\n` });
    expect((await issues(f))).toBe('');
    expect(await startRefuses(f)).toBe('');
  });

  it('every error at once: unset variables do not hide schema errors or each other', async () => {
    const f = dir({ 'vigil.yml': `server:\n  token: \${NOT_SET_A}\n  external_url: \${NOT_SET_B}\nglobal: {scrape_interval: 10x}\nbogus: 1\n` });
    const m = (await issues(f));
    expect(m).toMatch(/line 2: environment variable NOT_SET_A is not set/);
    expect(m).toMatch(/line 3: environment variable NOT_SET_B is not set/);
    expect(m).toMatch(/line 4: global\.scrape_interval/);
    expect(m).toMatch(/bogus/);
  });

  it('several section errors in one report; the CLI exits 1 and prints them all', async () => {
    const f = dir({
      'vigil.yml': `${BASE}rule_files: [nothing/*.yml]\nalerting: {config_file: none.yml}\nglobal: {scrape_interval: 10s}\nscrape_configs:\n  - job_name: a\n    scrape_timeout: 11s\n    static_configs: [{targets: ['x:1']}]\n`,
    });
    const lines: string[] = [];
    const orig = console.error;
    console.error = (s: string) => lines.push(s);
    try {
      expect(await checkConfig([f])).toBe(1);
    } finally {
      console.error = orig;
    }
    const out = lines.join('\n');
    expect(out).toMatch(/FAILED/);
    expect(out).toMatch(/rule_files\[0\]/);
    expect(out).toMatch(/alerting\.config_file/);
    expect(out).toMatch(/scrape_configs\[0\]\.scrape_timeout/);
  });

  it('remote tls_config files: missing, not PEM or unpaired is an error naming the field and line; they resolve against the config directory', async () => {
    const rw = `remote_write:\n  - url: https://vm:8428/api/v1/write\n    tls_config: {ca_file: tls/ca.crt}\n  - url: https://vm:8428/api/v1/write\n    name: b\n    tls_config:\n      ca_file: tls/not-pem.txt\n`;
    const qb = 'query_backend:\n  url: https://vm:8428\n  tls_config: {cert_file: tls/client.crt}\n';
    const f = dir({ 'vigil.yml': `${BASE}${rw}${qb}`, 'tls/not-pem.txt': 'hello\n' });
    const m = await issues(f);
    expect(m).toMatch(/line 6: remote_write\[0\]\.tls_config\.ca_file: cannot read .*tls\/ca\.crt: no such file/);
    expect(m).toMatch(/line 10: remote_write\[1\]\.tls_config\.ca_file: \/.*\/tls\/not-pem\.txt holds no PEM certificate/);
    expect(m).toMatch(/query_backend\.tls_config\.key_file: cert_file and key_file go together/);
    expect(await startRefuses(f)).toMatch(/remote_write\[0\]\.tls_config\.ca_file/);
    // Unchecked, start refuses too, naming the field.
    await expect(startVigil(loadConfig(dir({ 'vigil.yml': `${BASE}${qb}` }), { env: {} }), { logger: silentLogger(), listen: '127.0.0.1:0' })).rejects.toThrow(/query_backend\.tls_config\.key_file/);
    expect(await issues(dir({ 'vigil.yml': `${BASE}query_backend: {url: "https://vm", tls_config: {min_version: TLS9}}\n` }))).toMatch(/min_version must be one of TLS10, TLS11, TLS12, TLS13/);

    const certs = makeTestCerts();
    if (!certs) return;
    try {
      const files = { 'tls/ca.crt': readFileSync(certs.caFile, 'utf8'), 'tls/client.crt': readFileSync(certs.clientCertFile, 'utf8'), 'tls/client.key': readFileSync(certs.clientKeyFile, 'utf8') };
      const good = 'tls_config: {ca_file: tls/ca.crt, cert_file: tls/client.crt, key_file: tls/client.key, min_version: TLS12}';
      expect(await issues(dir({ 'vigil.yml': `${BASE}remote_write: [{url: "https://vm/api/v1/write", ${good}}]\nquery_backend: {url: "https://vm", ${good}}\n`, ...files }))).toBe('');
      const mismatched = { ...files, 'tls/client.key': readFileSync(join(certs.dir, 'server.key'), 'utf8') };
      expect(await issues(dir({ 'vigil.yml': `${BASE}query_backend: {url: "https://vm", ${good}}\n`, ...mismatched }))).toMatch(/query_backend\.tls_config\.cert_file: .* are not a matching PEM certificate and key/);
    } finally {
      certs.remove();
    }
  });

  it('scrape, discovery and health check client files: every missing one is listed at once, with field and line, relative to the config directory', async () => {
    const sc = [
      'scrape_configs:',
      '  - job_name: a',
      '    targets: ["t:9100"]',
      '    basic_auth: {username: u, password_file: secrets/missing-password}',
      '    tls_config: {ca_file: tls/missing-ca.crt}',
      '    http_sd_configs:',
      '      - url: http://sd/targets',
      '        bearer_token_file: secrets/missing-token',
      'health_checks:',
      '  - url: http://api/health',
      '    authorization: {credentials_file: secrets/missing-credentials}',
      '',
    ].join('\n');
    const f = dir({ 'vigil.yml': `${BASE}${sc}` });
    const m = await issues(f);
    expect(m).toMatch(/line 7: scrape_configs\[0\]\.basic_auth\.password_file: cannot read .*c\d+\/secrets\/missing-password: no such file/);
    expect(m).toMatch(/line 8: scrape_configs\[0\]\.tls_config\.ca_file: cannot read .*c\d+\/tls\/missing-ca\.crt: no such file/);
    expect(m).toMatch(/line 11: scrape_configs\[0\]\.http_sd_configs\[0\]\.bearer_token_file: cannot read .*secrets\/missing-token: no such file/);
    expect(m).toMatch(/line 14: health_checks\[0\]\.authorization\.credentials_file: cannot read .*secrets\/missing-credentials: no such file/);
    expect(await startRefuses(f)).toMatch(/scrape_configs\[0\]\.tls_config\.ca_file/);

    // The same relative names, present next to the config file (the working directory is elsewhere), pass.
    const present = { 'secrets/missing-password': 'pw\n', 'secrets/missing-token': 't\n', 'secrets/missing-credentials': 'c\n' };
    expect(await issues(dir({ 'vigil.yml': `${BASE}${sc.replace('    tls_config: {ca_file: tls/missing-ca.crt}\n', '')}`, ...present }))).toBe('');
    // A directory where a file belongs is unreadable, and said so.
    expect(await issues(dir({ 'vigil.yml': `${BASE}${sc}`, ...present, 'tls/missing-ca.crt/x': '' }))).toMatch(/scrape_configs\[0\]\.tls_config\.ca_file: cannot read .*EISDIR/);

    // check config prints them too, each with its field.
    const lines: string[] = [];
    const orig = console.error;
    console.error = (s: string) => lines.push(s);
    try {
      expect(await checkConfig([f])).not.toBe(0);
    } finally {
      console.error = orig;
    }
    for (const field of ['basic_auth.password_file', 'tls_config.ca_file', 'bearer_token_file', 'authorization.credentials_file']) expect(lines.join('\n')).toContain(`${field}: cannot read`);
  });

  it('notification config files resolve against their own file: an Alertmanager file against its directory, an inline config against the config file', async () => {
    const am = 'route: {receiver: r}\nreceivers:\n  - name: r\n    webhook_configs: [{url_file: secrets/hook-url}]\ntemplates: [notify.tmpl]\n';
    const present = { 'alerting/am.yml': am, 'alerting/secrets/hook-url': 'http://hook.invalid/\n', 'alerting/notify.tmpl': '{{ define "x" }}x{{ end }}\n' };
    const f = dir({ 'vigil.yml': `${BASE}alerting: {config_file: alerting/am.yml}\n`, ...present });
    expect(await issues(f)).toBe('');
    const loaded = loadConfig(f, { env: {} });
    const n = loadNotifierConfig(resolveAlertingPaths(loaded.config.alerting!, loaded.baseDir));
    expect(n.am.receivers[0].webhook_configs[0].url_file).toBe(join(dirname(f), 'alerting', 'secrets', 'hook-url'));
    expect(n.am.templates).toEqual([join(dirname(f), 'alerting', 'notify.tmpl')]);
    // Next to vigil.yml instead of next to the Alertmanager file: not found, and said so.
    const misplaced = dir({ 'vigil.yml': `${BASE}alerting: {config_file: alerting/am.yml}\n`, 'alerting/am.yml': am, 'secrets/hook-url': 'http://hook.invalid/\n' });
    expect(await issues(misplaced)).toMatch(/receivers\[0\]\.webhook_configs\[0\]\.url_file: cannot read secret file: ENOENT/);

    const inline = 'alerting:\n  config:\n    route: {receiver: r}\n    receivers:\n      - name: r\n        webhook_configs: [{url_file: secrets/hook-url}]\n';
    expect(await issues(dir({ 'vigil.yml': `${BASE}${inline}`, 'secrets/hook-url': 'http://hook.invalid/\n' }))).toBe('');
    expect(await issues(dir({ 'vigil.yml': `${BASE}${inline}` }))).toMatch(/alerting\.config: .*webhook_configs\[0\]\.url_file: cannot read secret file: ENOENT/);
  });

  it('the committed vigil.yml and the shipped rules pass', async () => {
    const lines: string[] = [];
    const orig = console.log;
    console.log = (s: string) => lines.push(s);
    try {
      expect(await checkConfig(['vigil.yml'])).toBe(0);
    } finally {
      console.log = orig;
    }
    expect(lines.join('\n')).toMatch(/SUCCESS/);
    const f = dir({ 'vigil.yml': `${BASE}rule_files: ['${process.cwd()}/rules/*.yml']\n` });
    expect((await issues(f))).toBe('');
  });
});
