/**
 * The catalogue must not list metrics nobody produces: each entry is looked up
 * in the code of its producer, and the collector names in the real exporters
 * whose names they promise to use.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUE, type MetricSource } from '../../src/dashboards/catalogue.js';
import { hasPostgres, hasRedis, PG_URL, REDIS_URL, requireBinary } from '../helpers/services.js';
import { freePort, waitFor } from '../helpers/net.js';

const SRC = join(import.meta.dirname, '../../src');

const PRODUCERS: Partial<Record<MetricSource, string[]>> = {
  instrumentation: ['api/instrumentation'],
  scrape: ['collectors'],
  probe: ['collectors'],
  postgres: ['collectors'],
  redis: ['collectors'],
  rules: ['alerts/rules', 'alerts/slo'],
  faro: ['logs/faro'],
  vigil: ['alerts', 'collectors', 'jobs', 'logs', 'tsdb', 'api', 'remote'],
};

async function sourceText(dirs: string[]): Promise<string> {
  let text = '';
  for (const d of dirs) {
    const entries = await readdir(join(SRC, d), { recursive: true, withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isFile() && e.name.endsWith('.ts')) text += await readFile(join(e.parentPath, e.name), 'utf8');
  }
  return text;
}

// Job figures are named `<kind prefix><key>` where the job records `{ key: value }`.
const FIGURE = /^(vigil_(?:backup|retention|digest)_)(.+)$/;

describe('metric catalogue against its producers', () => {
  for (const [source, dirs] of Object.entries(PRODUCERS) as Array<[MetricSource, string[]]>) {
    it(`every ${source} metric is produced in src/${dirs.join(', src/')}`, async () => {
      const text = await sourceText(dirs);
      const missing = CATALOGUE.filter((m) => m.source === source).filter((m) => {
        if (text.includes(`'${m.name}'`) || text.includes(`"${m.name}"`) || text.includes(`\`${m.name}`)) return false;
        if (source === 'postgres' && m.name.startsWith('pg_stat_database_') && text.includes(`'${m.name.slice('pg_stat_database_'.length)}'`)) return false;
        const f = FIGURE.exec(m.name);
        if (f && text.includes(`'${f[1]}'`) && new RegExp(`\\b${f[2]}\\b\\s*:`).test(text)) return false;
        return true;
      });
      expect(missing.map((m) => m.name)).toEqual([]);
    });
  }
});

async function scrapeExporter(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ names: Set<string>; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(bin, [...args, `--web.listen-address=127.0.0.1:${port}`], { env: { ...process.env, ...env }, stdio: 'ignore' });
  const body = await waitFor(async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    const text = await res.text();
    return /^(pg_up|redis_up) 1$/m.test(text) ? text : undefined;
  }, 20_000);
  const names = new Set(body.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]));
  return { names, proc };
}

describe('collector names match the real exporters', async () => {
  const procs: ChildProcess[] = [];
  afterAll(() => {
    for (const p of procs) p.kill();
  });

  const pgBin = requireBinary('prometheus-postgres-exporter');
  describe.skipIf(!pgBin || !(await hasPostgres()))('postgres_exporter', () => {
    let names = new Set<string>();
    beforeAll(async () => {
      const u = new URL(PG_URL);
      u.searchParams.set('sslmode', 'disable');
      const r = await scrapeExporter(pgBin!, [], { DATA_SOURCE_NAME: u.toString() });
      procs.push(r.proc);
      names = r.names;
    });
    it('publishes every unconditional postgres metric of the catalogue', () => {
      const missing = CATALOGUE.filter((m) => m.source === 'postgres' && !m.conditional && !names.has(m.name));
      expect(missing.map((m) => m.name)).toEqual([]);
    });
  });

  const redisBin = requireBinary('prometheus-redis-exporter');
  describe.skipIf(!redisBin || !(await hasRedis()))('redis_exporter', () => {
    let names = new Set<string>();
    beforeAll(async () => {
      const r = await scrapeExporter(redisBin!, [`--redis.addr=${REDIS_URL}`], {});
      procs.push(r.proc);
      names = r.names;
    });
    it('publishes every unconditional redis metric of the catalogue', () => {
      const missing = CATALOGUE.filter((m) => m.source === 'redis' && !m.conditional && !names.has(m.name));
      expect(missing.map((m) => m.name)).toEqual([]);
    });
  });
});
