/**
 * Vigil's PostgreSQL and Redis collectors publish the names and label names of
 * prometheus-postgres-exporter and prometheus-redis-exporter, checked against
 * the real exporters on the same servers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parseExposition, type ParsedSample } from '../../src/collectors/exposition.js';
import { PostgresSource } from '../../src/collectors/postgres.js';
import { RedisSource } from '../../src/collectors/redis.js';
import { silentLogger } from '../../src/logger.js';
import { freePort, waitFor } from '../helpers/net.js';
import { hasPostgres, hasRedis, PG_URL, REDIS_URL, requireBinary } from '../helpers/services.js';

const pgExporter = requireBinary('prometheus-postgres-exporter', 'prometheus-postgres-exporter');
const redisExporter = requireBinary('prometheus-redis-exporter', 'prometheus-redis-exporter');
const QUERIES = '/usr/share/doc/prometheus-postgres-exporter/examples/queries.yaml';
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

function labelNamesByMetric(samples: ParsedSample[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of samples) {
    const names = Object.keys(s.labels).filter((n) => n !== '__name__').sort().join(',');
    out.set(s.labels.__name__, names);
  }
  return out;
}

async function scrapeExporter(bin: string, args: string[], env: Record<string, string>, port: number, ready: RegExp): Promise<Map<string, string>> {
  const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: 'ignore' });
  children.push(child);
  const text = await waitFor(async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    const body = await res.text();
    return ready.test(body) ? body : undefined;
  }, 15_000);
  child.kill('SIGKILL');
  return labelNamesByMetric(parseExposition(text).samples);
}

function compare(vigil: Map<string, string>, exporter: Map<string, string>, vigilOnly: string[]): void {
  const missing: string[] = [];
  for (const [name, labels] of vigil) {
    const theirs = exporter.get(name);
    if (theirs === undefined) {
      if (!vigilOnly.includes(name)) missing.push(name);
      continue;
    }
    expect(`${name}{${labels}}`).toBe(`${name}{${theirs}}`);
  }
  expect(missing, 'metrics the exporter does not publish').toEqual([]);
}

describe.skipIf(!pgExporter || !(await hasPostgres()))('postgres collector vs prometheus-postgres-exporter', () => {
  it('publishes the same metric and label names', async () => {
    const port = await freePort();
    const u = new URL(PG_URL);
    if (!u.searchParams.has('sslmode')) u.searchParams.set('sslmode', 'disable');
    const args = [`--web.listen-address=127.0.0.1:${port}`];
    if (existsSync(QUERIES)) args.push(`--extend.query-path=${QUERIES}`);
    const theirs = await scrapeExporter(pgExporter!, args, { DATA_SOURCE_NAME: u.toString() }, port, /^pg_up 1$/m);
    const src = new PostgresSource({ dsn: PG_URL, job_name: 'postgres', instance: undefined, labels: {} }, silentLogger());
    const ours = labelNamesByMetric(await src.collect(new AbortController().signal, 5000));
    await src.close();
    expect(ours.size).toBeGreaterThan(20);
    for (const n of ['pg_up', 'pg_stat_database_xact_commit', 'pg_settings_max_connections', 'pg_stat_activity_count', 'pg_database_size_bytes']) expect(theirs.has(n), n).toBe(true);
    compare(ours, theirs, existsSync(QUERIES) ? ['pg_replication_is_replica'] : ['pg_replication_is_replica', 'pg_replication_lag', 'pg_postmaster_start_time_seconds']);
  });
});

describe.skipIf(!redisExporter || !(await hasRedis()))('redis collector vs prometheus-redis-exporter', () => {
  it('publishes the same metric and label names', async () => {
    const port = await freePort();
    const theirs = await scrapeExporter(redisExporter!, ['-redis.addr', REDIS_URL, '-web.listen-address', `127.0.0.1:${port}`], {}, port, /^redis_up 1$/m);
    const src = new RedisSource({ url: REDIS_URL, job_name: 'redis', instance: undefined, labels: {} }, silentLogger());
    const ours = labelNamesByMetric(await src.collect(new AbortController().signal, 5000));
    await src.close();
    expect(ours.size).toBeGreaterThan(15);
    // Replica-only series are compared when the server is a replica.
    compare(ours, theirs, ['redis_master_link_up', 'redis_master_last_io_seconds_ago']);
  });
});
