import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { Client as PgClient } from 'pg';
import type { PgBackupConfig } from '../config/jobs.js';
import type { JobDefinition, JobRunContext } from './types.js';
import { lazyRequire } from '../util/lazy-require.js';

const pg = lazyRequire<typeof import('pg')>('pg');

/** Last line pg_dump writes in plain format; its absence means a cut-off dump. */
const DUMP_TRAILER = '-- PostgreSQL database dump complete';

export function backupFileName(prefix: string, date: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  return `${prefix}_${parts.year}${parts.month}${parts.day}_${parts.hour}${parts.minute}${parts.second}.sql.gz`;
}

/** Backups in a directory with their time from the name, newest first. */
export async function listBackups(dir: string, prefix: string): Promise<Array<{ file: string; time: number }>> {
  const re = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}_(\\d{4})(\\d{2})(\\d{2})_(\\d{2})(\\d{2})(\\d{2})\\.sql\\.gz$`);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  const out: Array<{ file: string; time: number }> = [];
  for (const n of names) {
    const m = re.exec(n);
    if (!m) continue;
    const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
    out.push({ file: join(dir, n), time: Date.UTC(y, mo - 1, d, h, mi, s) });
  }
  return out.sort((a, b) => b.time - a.time);
}

/**
 * Proves an archive is a whole dump: it decompresses to the end and ends with
 * pg_dump's trailer. Throws with the reason otherwise.
 */
export async function verifyArchive(file: string): Promise<{ uncompressedBytes: number }> {
  let total = 0;
  let tail = '';
  try {
    await pipeline(createReadStream(file), createGunzip(), async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        total += chunk.length;
        tail = (tail + chunk.toString('utf8')).slice(-512);
      }
      yield* [];
    });
  } catch (err) {
    throw new Error(`backup ${file} is corrupt: ${(err as Error).message}`);
  }
  if (!tail.includes(DUMP_TRAILER)) throw new Error(`backup ${file} is truncated: the pg_dump trailer is missing`);
  return { uncompressedBytes: total };
}

function run(cmd: string, args: string[], opts: { stdin?: NodeJS.ReadableStream; stdout?: NodeJS.WritableStream; signal: AbortSignal; env?: NodeJS.ProcessEnv }): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: [opts.stdin ? 'pipe' : 'ignore', opts.stdout ? 'pipe' : 'ignore', 'pipe'], signal: opts.signal, env: { ...process.env, ...opts.env } });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 16_384) stderr += d.toString();
    });
    const streams: Promise<unknown>[] = [];
    if (opts.stdin) streams.push(pipeline(opts.stdin, child.stdin!));
    if (opts.stdout) streams.push(pipeline(child.stdout!, opts.stdout));
    child.once('error', (err) => reject(new Error(`${cmd}: ${err.message}`)));
    child.once('close', (code, sig) => {
      Promise.allSettled(streams).then((results) => {
        const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
        if (code === 0 && !failed) resolvePromise();
        else reject(new Error(`${cmd} exited with ${sig ?? code}${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : failed ? `: ${String(failed.reason)}` : ''}`));
      });
    });
  });
}

async function tableCounts(client: PgClient): Promise<Map<string, number>> {
  const tables = await client.query<{ name: string }>(
    `SELECT format('%I.%I', schemaname, relname) AS name FROM pg_stat_user_tables ORDER BY 1`,
  );
  const counts = new Map<string, number>();
  for (const { name } of tables.rows) {
    const r = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${name}`);
    counts.set(name, Number(r.rows[0].n));
  }
  return counts;
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/**
 * The nightly backup: `pg_dump | gzip` into a temporary file renamed only when
 * complete, verified (decompresses, has the trailer, and optionally restores
 * into a scratch database with the same row counts as the dumped snapshot),
 * then retention that never deletes the newest good backup.
 */
export function pgBackupJob(name: string, cfg: PgBackupConfig, baseDir: string): JobDefinition {
  const dir = resolve(baseDir, cfg.directory);
  return {
    name,
    kind: 'pg_backup',
    schedule: cfg.schedule,
    timezone: cfg.timezone,
    catchUp: cfg.catch_up,
    timeoutMs: cfg.timeout,
    async run(ctx: JobRunContext): Promise<string> {
      await fsp.mkdir(dir, { recursive: true });
      const previous = (await listBackups(dir, cfg.prefix))[0];
      const previousSize = previous ? (await fsp.stat(previous.file)).size : 0;
      ctx.record({ previous_size_bytes: previousSize });
      try {
        return await takeBackup(cfg, dir, ctx);
      } catch (err) {
        ctx.record({ verified: 0 });
        throw err;
      }
    },
  };
}

async function takeBackup(cfg: PgBackupConfig, dir: string, ctx: JobRunContext): Promise<string> {
  const base = backupFileName(cfg.prefix, new Date(), cfg.timezone);
  const file = join(dir, base);
  const partial = join(dir, `.${base}.partial`);

  // With restore verification, dump an exported snapshot so the row counts
  // compared later are exactly what the dump contains.
  let snapshotClient: PgClient | undefined;
  let expected: Map<string, number> | undefined;
  const dumpArgs = ['--dbname', cfg.database_url, '--no-owner', '--no-privileges'];
  try {
    if (cfg.verify_restore) {
      snapshotClient = new (pg().Client)({ connectionString: cfg.database_url, connectionTimeoutMillis: 10_000 });
      await snapshotClient.connect();
      await snapshotClient.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const snap = await snapshotClient.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
      dumpArgs.push('--snapshot', snap.rows[0].id);
      expected = await tableCounts(snapshotClient);
    }
    try {
      await run(cfg.pg_dump_path, dumpArgs, { stdout: createGzipTo(partial), signal: ctx.signal });
      const fh = await fsp.open(partial, 'r+');
      await fh.sync();
      await fh.close();
    } catch (err) {
      await fsp.rm(partial, { force: true });
      throw err;
    }
  } finally {
    if (snapshotClient) await snapshotClient.end().catch(() => undefined);
  }
  await fsp.rename(partial, file);
  const size = (await fsp.stat(file)).size;
  ctx.record({ size_bytes: size });

  const { uncompressedBytes } = await verifyArchive(file);
  let restored = '';
  if (expected) {
    await restoreAndCompare(file, cfg, expected, ctx);
    restored = `, restored ${expected.size} tables with matching row counts`;
  }
  ctx.record({ verified: 1, last_success_timestamp_seconds: Date.now() / 1000 });

  const deleted = await applyRetention(dir, cfg.prefix, cfg.retention, file);
  ctx.record({ files: (await listBackups(dir, cfg.prefix)).length });
  return `wrote ${file} (${size} bytes, ${uncompressedBytes} uncompressed)${restored}; deleted ${deleted} old backup(s)`;
}

/** A writable that gzips into `file`. */
function createGzipTo(file: string): NodeJS.WritableStream {
  const gzip = createGzip({ level: 6 });
  const out = createWriteStream(file, { mode: 0o600 });
  gzip.pipe(out);
  // Surface write errors through the gzip stream the caller pipes into.
  out.on('error', (err) => gzip.destroy(err));
  return gzip;
}

async function restoreAndCompare(file: string, cfg: PgBackupConfig, expected: Map<string, number>, ctx: JobRunContext): Promise<void> {
  const adminUrl = cfg.restore_admin_url ?? withDatabase(cfg.database_url, 'postgres');
  const scratch = `${cfg.prefix}_verify_${Date.now()}`.toLowerCase();
  const admin = new (pg().Client)({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${scratch}"`);
    try {
      const scratchUrl = withDatabase(adminUrl, scratch);
      await run(cfg.psql_path, ['--quiet', '--no-psqlrc', '--set', 'ON_ERROR_STOP=1', '--dbname', scratchUrl], {
        stdin: createReadStream(file).pipe(createGunzip()),
        signal: ctx.signal,
      });
      const client = new (pg().Client)({ connectionString: scratchUrl });
      await client.connect();
      let actual: Map<string, number>;
      try {
        actual = await tableCounts(client);
      } finally {
        await client.end();
      }
      const diffs: string[] = [];
      for (const [t, n] of expected) {
        if (actual.get(t) !== n) diffs.push(`${t}: expected ${n} rows, restored ${actual.get(t) ?? 'no table'}`);
      }
      if (diffs.length) throw new Error(`restore check of ${file} failed: ${diffs.slice(0, 5).join('; ')}`);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${scratch}" WITH (FORCE)`).catch(() => undefined);
    }
  } finally {
    await admin.end();
  }
}

/** Deletes backups older than `maxAgeMs`, never `keep` (the newest good one). */
export async function applyRetention(dir: string, prefix: string, maxAgeMs: number, keep: string, now = Date.now()): Promise<number> {
  let deleted = 0;
  for (const b of await listBackups(dir, prefix)) {
    if (b.file === keep) continue;
    if (now - b.time > maxAgeMs) {
      await fsp.rm(b.file, { force: true });
      deleted++;
    }
  }
  return deleted;
}
