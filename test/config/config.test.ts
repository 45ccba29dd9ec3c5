import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/index.js';
import { interpolateEnv } from '../../src/config/interpolate.js';
import { parseDuration } from '../../src/model/duration.js';

describe('config', () => {
  it('loads the committed default config', () => {
    const { config } = loadConfig('vigil.yml', { env: {} });
    expect(config.server.listen).toBe('127.0.0.1:9470');
    expect(config.server.token).toBeUndefined();
    expect(config.global.scrape_interval).toBe(15_000);
  });

  it('scrape_workers: defaults, settings and errors naming the field', () => {
    const d = parseConfig('{}\n', 'x.yml', { env: {} }).scrape_workers;
    expect(d).toEqual({ nice: 10, heap_limit: 256 * 1024 * 1024 });
    const c = parseConfig('scrape_workers: {count: 3, nice: 0, heap_limit: 64MiB}\n', 'x.yml', { env: {} }).scrape_workers;
    expect(c).toEqual({ count: 3, nice: 0, heap_limit: 64 * 1024 * 1024 });
    expect(() => parseConfig('scrape_workers:\n  nice: 25\n', 'x.yml', { env: {} })).toThrow(/line 2: scrape_workers\.nice/);
    expect(() => parseConfig('scrape_workers: {count: 0}\n', 'x.yml', { env: {} })).toThrow(/scrape_workers\.count/);
    expect(() => parseConfig('scrape_workers: {heap_limit: 1MiB}\n', 'x.yml', { env: {} })).toThrow(/scrape_workers\.heap_limit/);
  });

  it('interpolates ${ENV} and ${ENV:-default}, leaves ${1} alone', () => {
    const r = interpolateEnv('a: ${A}\nb: ${B:-x}\nc: ${1}\nd: $$HOME', { A: 'one' });
    expect(r.errors).toEqual([]);
    expect(r.text).toBe('a: one\nb: x\nc: ${1}\nd: $HOME');
  });

  it('names the line of a missing environment variable', () => {
    expect(() => parseConfig('server:\n  token: ${NOPE_NOT_SET}\n', 'x.yml', { env: {} })).toThrow(/line 2: environment variable NOPE_NOT_SET/);
  });

  it('lists every error with its path and line', () => {
    const text = 'global:\n  scrape_interval: 15x\nserver:\n  listen: nope\nbogus: 1\n';
    try {
      parseConfig(text, 'bad.yml', { env: {} });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.file).toBe('bad.yml');
      const paths = e.issues.map((i) => i.path);
      expect(paths).toContain('global.scrape_interval');
      expect(paths).toContain('server.listen');
      expect(e.issues.find((i) => i.path === 'server.listen')?.line).toBe(4);
      expect(e.message).toMatch(/bogus/);
    }
  });

  it('reports checks spanning fields beside the other errors, in one pass', () => {
    const messages = (text: string) => {
      try {
        parseConfig(text, 'bad.yml', { env: {} });
      } catch (err) {
        return (err as ConfigError).issues.map((i) => `${i.line}: ${i.path}: ${i.message}`);
      }
      return expect.unreachable();
    };
    expect(messages('scrape_configs:\n  - job_name: a\n    scrape_interval: bogus\n  - job_name: a\n')).toEqual([
      expect.stringMatching(/^3: scrape_configs\[0\]\.scrape_interval: not a valid duration/),
      '4: scrape_configs[1].job_name: duplicate job_name "a" (first at scrape_configs[0])',
    ]);
    const agent = messages('storage: {mode: agent, retention: zz}\nrule_files: [a.yml]\n').join('\n');
    expect(agent).toMatch(/storage\.retention: not a valid duration/);
    expect(agent).toMatch(/rule_files need a query_backend/);
    expect(agent).toMatch(/needs at least one remote_write entry/);
    // A name that did not parse is reported as such, not compared.
    expect(messages('scrape_configs:\n  - job_name: 5\n  - job_name: a\n')).toEqual([expect.stringMatching(/^2: scrape_configs\[0\]\.job_name: .*expected string/)]);
  });

  it('rejects YAML syntax errors and binary garbage with a line', () => {
    expect(() => parseConfig('a: [1, 2\n', 'x.yml')).toThrow(ConfigError);
    expect(() => parseConfig('\u0000\u0001\u0002: \u00ff\n  - ]', 'x.yml')).toThrow(ConfigError);
    expect(() => parseConfig('- just\n- a list\n', 'x.yml')).toThrow(ConfigError);
  });

  it('rejects duplicate keys and alias bombs', () => {
    expect(() => parseConfig('server:\n  listen: a:1\n  listen: b:2\n', 'x.yml')).toThrow(/line/);
    const bomb = ['a: &a [x,x,x,x,x,x,x,x,x,x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`)].join('\n');
    expect(() => parseConfig(bomb, 'x.yml')).toThrow(ConfigError);
  });

  it('reports an unreadable file', () => {
    expect(() => loadConfig('/nonexistent/vigil.yml')).toThrow(/cannot read file/);
  });

  it('resolves paths relative to the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-cfg-'));
    writeFileSync(
      join(dir, 'v.yml'),
      'storage:\n  path: d\nremote_write:\n  - url: https://rw.example/api/v1/write\n    tls_config: {ca_file: ca.crt}\n' +
        'query_backend:\n  url: https://qb.example\n  tls_config: {ca_file: certs/ca.crt, cert_file: /abs/client.crt}\n',
    );
    const loaded = loadConfig(join(dir, 'v.yml'));
    expect(loaded.baseDir).toBe(dir);
    // Remote write and the query backend read these as they are: no base directory of their own.
    expect(loaded.config.remote_write[0].tls_config?.ca_file).toBe(join(dir, 'ca.crt'));
    expect(loaded.config.query_backend?.tls_config).toMatchObject({ ca_file: join(dir, 'certs/ca.crt'), cert_file: '/abs/client.crt' });
  });

  it('parses Prometheus durations', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(() => parseDuration('30m1h')).toThrow();
    expect(() => parseDuration('1.5h')).toThrow();
  });
});
