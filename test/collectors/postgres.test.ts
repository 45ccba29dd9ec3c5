import { createServer, connect, type Server, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createCollectors } from '../../src/collectors/index.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import { freePort, waitFor } from '../helpers/net.js';
import { hasPostgres, PG_URL } from '../helpers/services.js';

/** A loopback TCP proxy to PostgreSQL that a test can cut (server "stopped") and restore. */
class CuttableProxy {
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}
  async up(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
  }
  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
  }
}

function lastOf(storage: MemoryStorage, name: string, job = 'postgres'): number | undefined {
  const s = storage.querier().select([{ type: '=', name: '__name__', value: name }, { type: '=', name: 'job', value: job }], -Infinity, Infinity)[0];
  return s ? s.v[s.v.length - 1] : undefined;
}

function dsnVia(port: number): string {
  const u = new URL(PG_URL);
  u.host = `127.0.0.1:${port}`;
  return u.toString();
}

describe.skipIf(!(await hasPostgres()))('postgres collector', () => {
  it('publishes postgres_exporter metrics from the local server', async () => {
    const storage = new MemoryStorage();
    const config = parseConfig(`postgres: {dsn: '${PG_URL}', scrape_timeout: 5s}`, 'x.yml', { env: {} });
    const c = createCollectors({ config, storage, registry: new Registry(), logger: silentLogger() });
    try {
      await c.scrapeAll();
      expect(lastOf(storage, 'up')).toBe(1);
      expect(lastOf(storage, 'pg_up')).toBe(1);
      expect(lastOf(storage, 'pg_settings_max_connections')).toBeGreaterThan(0);
      const q = storage.querier();
      const db = new URL(PG_URL).pathname.slice(1);
      const commits = q.select([{ type: '=', name: '__name__', value: 'pg_stat_database_xact_commit' }, { type: '=', name: 'datname', value: db }], -Infinity, Infinity);
      expect(commits).toHaveLength(1);
      expect(commits[0].labels).toMatchObject({ job: 'postgres', instance: new URL(PG_URL).host, server: new URL(PG_URL).host });
      for (const n of ['pg_stat_database_xact_rollback', 'pg_stat_database_deadlocks', 'pg_stat_database_blks_hit', 'pg_stat_database_blks_read', 'pg_database_size_bytes', 'pg_stat_activity_count', 'pg_stat_activity_max_tx_duration', 'pg_replication_lag']) {
        expect(q.select([{ type: '=', name: '__name__', value: n }], -Infinity, Infinity).length, n).toBeGreaterThan(0);
      }
      const active = q.select([{ type: '=', name: '__name__', value: 'pg_stat_activity_count' }, { type: '=', name: 'state', value: 'active' }, { type: '=', name: 'datname', value: db }], -Infinity, Infinity);
      expect(active[0].v[0]).toBeGreaterThanOrEqual(1); // the collector's own query
      expect(lastOf(storage, 'pg_replication_lag')).toBe(0); // a primary
    } finally {
      await c.stop();
    }
  });

  it('up goes to 0 for a wrong port and when the server goes away, and back to 1', async () => {
    const proxyPort = await freePort();
    const wrongPort = await freePort();
    const u = new URL(PG_URL);
    const proxy = new CuttableProxy(proxyPort, { host: u.hostname, port: Number(u.port || 5432) });
    await proxy.up();
    const storage = new MemoryStorage();
    const config = parseConfig(
      `postgres:
  - {dsn: '${dsnVia(proxyPort)}', scrape_interval: 400ms, scrape_timeout: 300ms}
  - {dsn: '${dsnVia(wrongPort)}', job_name: postgres-wrong, scrape_timeout: 1s}`,
      'x.yml',
      { env: {} },
    );
    const c = createCollectors({ config, storage, registry: new Registry(), logger: silentLogger() });
    try {
      await c.scrapeAll();
      expect(lastOf(storage, 'up')).toBe(1);
      // As postgres_exporter: the collector ran (up 1), the server did not answer (pg_up 0).
      expect(lastOf(storage, 'up', 'postgres-wrong')).toBe(1);
      expect(lastOf(storage, 'pg_up', 'postgres-wrong')).toBe(0);
      await c.start();
      await proxy.down();
      await waitFor(() => lastOf(storage, 'pg_up') === 0 || undefined, 10_000);
      expect(lastOf(storage, 'up')).toBe(1);
      await proxy.up();
      await waitFor(() => lastOf(storage, 'pg_up') === 1 || undefined, 10_000);
    } finally {
      await c.stop();
      await proxy.down();
    }
  });
});
