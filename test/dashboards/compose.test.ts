/**
 * The compose stack: Debian's docker-compose must accept it, start order must
 * follow health checks, and the Vigil config it mounts must load with the
 * variables .env.example provides.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { requireBinary } from '../helpers/services.js';

const ROOT = join(import.meta.dirname, '../..');
const run = promisify(execFile);

function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  return env;
}

// The compose file's variables must come from the env file alone, not from whoever runs the test.
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  return env;
}

const compose = requireBinary('docker-compose');

describe.skipIf(!compose)('docker-compose.yml', () => {
  let tmp: string;
  let exampleEnv: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'vigil-compose-'));
    exampleEnv = await readFile(join(ROOT, '.env.example'), 'utf8');
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  async function config(envText: string, quiet: boolean): Promise<{ code: number; stdout: string; stderr: string }> {
    const envFile = join(tmp, `env-${Math.random().toString(36).slice(2)}`);
    await writeFile(envFile, envText);
    try {
      const { stdout, stderr } = await run(compose!, ['-f', 'docker-compose.yml', '--env-file', envFile, 'config', ...(quiet ? ['-q'] : [])], {
        cwd: ROOT,
        env: cleanEnv(),
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('`docker-compose config -q` accepts it with .env.example', async () => {
    const r = await config(exampleEnv, true);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('refuses to start without the passwords, naming the variable', async () => {
    const r = await config(exampleEnv.replace(/^POSTGRES_PASSWORD=.*$/m, ''), true);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('POSTGRES_PASSWORD');
  });

  it('starts every service after healthy dependencies, and each has a health check', async () => {
    const r = await config(exampleEnv, false);
    expect(r.code).toBe(0);
    const doc = parse(r.stdout) as { services: Record<string, { depends_on?: Record<string, { condition: string }>; healthcheck?: unknown; volumes?: unknown[] }> };
    const services = doc.services;
    expect(Object.keys(services).sort()).toEqual(['elasticsearch', 'grafana', 'kibana', 'mailpit', 'planning-api', 'postgres', 'redis', 'vigil']);
    for (const [name, s] of Object.entries(services)) {
      expect(s.healthcheck, `${name} has no healthcheck`).toBeDefined();
      for (const [dep, cond] of Object.entries(s.depends_on ?? {})) {
        expect(cond.condition, `${name} -> ${dep}`).toBe('service_healthy');
      }
    }
    expect(Object.keys(services.vigil.depends_on ?? {})).toEqual(expect.arrayContaining(['planning-api', 'postgres', 'redis', 'elasticsearch']));
    expect(Object.keys(services['planning-api'].depends_on ?? {}).sort()).toEqual(['postgres', 'redis']);
    expect(JSON.stringify(services.grafana.volumes)).toContain('/etc/grafana/provisioning');
    // Secrets are not baked into the file.
    const raw = await readFile(join(ROOT, 'docker-compose.yml'), 'utf8');
    expect(raw).not.toMatch(/PASSWORD: [^$\s]/);
  });
});

describe('compose-side configuration', () => {
  it("deploy/vigil.compose.yml loads with Vigil's own config loader and .env.example's variables", async () => {
    const env = parseEnvFile(await readFile(join(ROOT, '.env.example'), 'utf8'));
    const loaded = loadConfig(join(ROOT, 'deploy/vigil.compose.yml'), { env });
    expect(loaded.config.server.listen).toBe('0.0.0.0:9470');
    expect(loaded.config.server.token).toBe(env.VIGIL_TOKEN);
  });

  it('fails clearly when a variable the compose config needs is missing', async () => {
    const env = parseEnvFile(await readFile(join(ROOT, '.env.example'), 'utf8'));
    delete env.POSTGRES_PASSWORD;
    expect(() => loadConfig(join(ROOT, 'deploy/vigil.compose.yml'), { env })).toThrow(/vigil\.compose\.yml[\s\S]*POSTGRES_PASSWORD/);
  });

  it('the Vigil image runs as a non-root user on node:20-slim', async () => {
    const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20-slim/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/npm ci/);
    expect(dockerfile).toMatch(/npm run build/);
  });

  it('the Grafana data source URLs are the variables docker-compose sets for Grafana', async () => {
    const ds = await readFile(join(ROOT, 'provisioning/datasources/vigil.yml'), 'utf8');
    const composeText = await readFile(join(ROOT, 'docker-compose.yml'), 'utf8');
    for (const v of ds.match(/\$\{([A-Z_]+)\}/g) ?? []) {
      expect(composeText, `${v} is not set for grafana`).toContain(`${v.slice(2, -1)}:`);
    }
  });
});
