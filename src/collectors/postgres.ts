/**
 * PostgreSQL collector with postgres_exporter's metric and label names
 * (pg_up, pg_stat_database_*, pg_stat_activity_count, pg_settings_max_connections,
 * pg_database_size_bytes, pg_replication_lag, ...) so community rules and
 * dashboards apply. The scrape loop adds `up{job="postgres"}`: 1 when the collector
 * ran (as the exporter's own scrape), while `pg_up` says whether PostgreSQL answered.
 */
import type { Client as PgClient } from 'pg';
import type { PostgresCollectorConfig } from '../config/collectors.js';
import type { Logger } from '../logger.js';
import type { ParsedSample } from './exposition.js';
import type { ScrapeSource } from './source.js';
import { lazyRequire } from '../util/lazy-require.js';

const pg = lazyRequire<typeof import('pg')>('pg');

const STAT_DATABASE_COLUMNS = [
  'numbackends',
  'xact_commit',
  'xact_rollback',
  'blks_read',
  'blks_hit',
  'tup_returned',
  'tup_fetched',
  'tup_inserted',
  'tup_updated',
  'tup_deleted',
  'conflicts',
  'temp_files',
  'temp_bytes',
  'deadlocks',
  'blk_read_time',
  'blk_write_time',
] as const;

const ACTIVITY_SQL = `
SELECT d.datname, s.state, COALESCE(a.count, 0)::float8 AS count, COALESCE(a.max_tx_duration, 0)::float8 AS max_tx_duration
FROM (VALUES ('active'), ('idle'), ('idle in transaction'), ('idle in transaction (aborted)'), ('fastpath function call'), ('disabled')) AS s(state)
CROSS JOIN pg_database d
LEFT JOIN (
  SELECT datname, state, count(*) AS count, MAX(EXTRACT(EPOCH FROM now() - xact_start)) AS max_tx_duration
  FROM pg_stat_activity GROUP BY datname, state
) a ON a.state = s.state AND a.datname = d.datname`;

const STAT_DATABASE_SQL = `SELECT datid::text AS datid, datname, ${STAT_DATABASE_COLUMNS.map((c) => `${c}::float8 AS ${c}`).join(', ')}
FROM pg_stat_database WHERE datname IS NOT NULL`;

const REPLICATION_SQL = `SELECT pg_is_in_recovery() AS replica,
  CASE WHEN NOT pg_is_in_recovery() THEN 0 ELSE GREATEST(0, EXTRACT(EPOCH FROM (now() - pg_last_xact_replay_timestamp()))) END::float8 AS lag,
  EXTRACT(EPOCH FROM pg_postmaster_start_time())::float8 AS start_time`;

/** host:port of a DSN without credentials (the exporter's `server` label). */
export function serverOf(dsn: string): string {
  try {
    const u = new URL(dsn);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}`;
  } catch {
    return 'unknown';
  }
}

export class PostgresSource implements ScrapeSource {
  private client: PgClient | undefined;
  private connecting: Promise<PgClient> | undefined;
  readonly server: string;

  constructor(
    private readonly cfg: PostgresCollectorConfig & { dsn: string },
    private readonly logger: Logger,
  ) {
    this.server = serverOf(cfg.dsn);
  }

  private async connect(timeoutMs: number): Promise<PgClient> {
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      const client = new (pg().Client)({
        connectionString: this.cfg.dsn,
        // Shorter than the scrape timeout so an unreachable server is reported as pg_up 0 in time.
        connectionTimeoutMillis: Math.max(1, Math.floor(timeoutMs * 0.8)),
        query_timeout: timeoutMs,
        statement_timeout: timeoutMs,
        application_name: 'vigil',
      });
      // A broken connection must not crash the process; the next scrape reconnects.
      client.on('error', (err) => {
        this.logger.debug({ err: err.message, server: this.server }, 'postgres connection error');
        this.reset();
      });
      try {
        await client.connect();
      } catch (err) {
        void client.end().catch(() => undefined);
        throw err;
      }
      this.client = client;
      return client;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private reset(): void {
    const c = this.client;
    this.client = undefined;
    if (c) void c.end().catch(() => undefined);
  }

  async collect(signal: AbortSignal, timeoutMs: number): Promise<ParsedSample[]> {
    const onAbort = () => this.reset();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const client = await this.connect(timeoutMs);
      const server = this.server;
      const out: ParsedSample[] = [{ labels: { __name__: 'pg_up' }, value: 1 }];
      const max = await client.query<{ v: number }>(`SELECT current_setting('max_connections')::float8 AS v`);
      out.push({ labels: { __name__: 'pg_settings_max_connections', server }, value: Number(max.rows[0].v) });
      const stat = await client.query<Record<string, string | number>>(STAT_DATABASE_SQL);
      for (const row of stat.rows) {
        for (const c of STAT_DATABASE_COLUMNS) {
          if (row[c] === null || row[c] === undefined) continue;
          out.push({ labels: { __name__: `pg_stat_database_${c}`, datid: String(row.datid), datname: String(row.datname), server }, value: Number(row[c]) });
        }
      }
      const act = await client.query<{ datname: string; state: string; count: number; max_tx_duration: number }>(ACTIVITY_SQL);
      for (const r of act.rows) {
        out.push({ labels: { __name__: 'pg_stat_activity_count', datname: r.datname, server, state: r.state }, value: Number(r.count) });
        out.push({ labels: { __name__: 'pg_stat_activity_max_tx_duration', datname: r.datname, server, state: r.state }, value: Number(r.max_tx_duration) });
      }
      const size = await client.query<{ datname: string; bytes: number }>(`SELECT datname, pg_database_size(datname)::float8 AS bytes FROM pg_database`);
      for (const r of size.rows) out.push({ labels: { __name__: 'pg_database_size_bytes', datname: r.datname, server }, value: Number(r.bytes) });
      const rep = await client.query<{ replica: boolean; lag: number; start_time: number }>(REPLICATION_SQL);
      out.push({ labels: { __name__: 'pg_replication_lag', server }, value: Number(rep.rows[0].lag) });
      out.push({ labels: { __name__: 'pg_replication_is_replica', server }, value: rep.rows[0].replica ? 1 : 0 });
      out.push({ labels: { __name__: 'pg_postmaster_start_time_seconds', server }, value: Number(rep.rows[0].start_time) });
      return out;
    } catch (err) {
      this.reset();
      // As postgres_exporter: the collector ran, so `up` stays 1 and `pg_up 0`
      // says the server did not answer. Only a collector that overran the
      // scrape timeout fails the scrape (up 0).
      if (!signal.aborted) {
        this.logger.debug({ err: (err as Error).message, server: this.server }, 'postgres unreachable');
        return this.failureSamples();
      }
      throw new Error(`postgres unreachable within ${timeoutMs}ms`);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  failureSamples(): ParsedSample[] {
    return [{ labels: { __name__: 'pg_up' }, value: 0 }];
  }

  async close(): Promise<void> {
    this.reset();
  }
}
