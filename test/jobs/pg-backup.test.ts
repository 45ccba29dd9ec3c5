import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgBackupSchema } from '../../src/config/jobs.js';
import { applyRetention, backupFileName, listBackups, pgBackupJob, verifyArchive } from '../../src/jobs/pg-backup.js';
import { JobScheduler } from '../../src/jobs/scheduler.js';
import { silentLogger } from '../../src/logger.js';
import { hasPostgres, PG_URL, requireBinary } from '../helpers/services.js';

const pgOk = (await hasPostgres()) && !!requireBinary('pg_dump', 'postgresql-client') && !!requireBinary('psql', 'postgresql-client');

function dbUrl(db: string): string {
  const u = new URL(PG_URL);
  u.pathname = `/${db}`;
  return u.toString();
}

describe.skipIf(!pgOk)('PostgreSQL backup job (real PostgreSQL)', () => {
  const db = `vigil_backup_${process.pid}_${Date.now() % 100000}`;
  const admin = new pg.Client({ connectionString: dbUrl('postgres') });

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db}`);
    const c = new pg.Client({ connectionString: dbUrl(db) });
    await c.connect();
    await c.query('CREATE TABLE study_plans (id serial primary key, title text not null)');
    await c.query('CREATE TABLE tasks (id serial primary key, plan_id int references study_plans(id), done boolean)');
    await c.query(`INSERT INTO study_plans (title) SELECT 'plan ' || g FROM generate_series(1, 250) g`);
    await c.query(`INSERT INTO tasks (plan_id, done) SELECT 1 + g % 250, g % 2 = 0 FROM generate_series(1, 1000) g`);
    await c.end();
  });

  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  });

  function setup(overrides: Record<string, unknown> = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-backup-'));
    const cfg = pgBackupSchema.parse({
      type: 'pg_backup',
      schedule: '0 2 * * *',
      database_url: dbUrl(db),
      directory: 'backups',
      verify_restore: true,
      restore_admin_url: dbUrl('postgres'),
      ...overrides,
    });
    const registry = new Registry();
    const scheduler = new JobScheduler({ jobs: [pgBackupJob('backup', cfg, dir)], dataDir: join(dir, 'data'), registry, logger: silentLogger() });
    return { dir, registry, scheduler };
  }

  async function gauge(registry: Registry, name: string): Promise<number | undefined> {
    return (await registry.getSingleMetric(name)?.get())?.values[0]?.value;
  }

  it('takes a backup, verifies it by restoring into a scratch database, and records it', async () => {
    const { dir, registry, scheduler } = setup();
    await scheduler.start();
    const r = await scheduler.runNow('backup');
    await scheduler.stop();
    expect(r.status, r.message).toBe('success');
    expect(r.message).toMatch(/restored 2 tables with matching row counts/);
    const files = readdirSync(join(dir, 'backups'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^sical_backup_\d{8}_\d{6}\.sql\.gz$/);
    expect(statSync(join(dir, 'backups', files[0])).mode & 0o777).toBe(0o600);
    expect(await gauge(registry, 'vigil_backup_verified')).toBe(1);
    expect(await gauge(registry, 'vigil_backup_size_bytes')).toBe(statSync(join(dir, 'backups', files[0])).size);
    // The scratch database is gone.
    const left = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE 'sical_backup_verify_%'`);
    expect(left.rows).toEqual([]);
  });

  it('detects a truncated dump, keeps no partial file, and reports verified=0', async () => {
    const fake = join(mkdtempSync(join(tmpdir(), 'vigil-fake-')), 'pg_dump');
    // A pg_dump that dies half-way: exits 0 but its output lacks the trailer.
    writeFileSync(fake, '#!/bin/sh\necho "-- PostgreSQL database dump"\necho "CREATE TABLE x (id int);"\n');
    chmodSync(fake, 0o755);
    const { dir, registry, scheduler } = setup({ pg_dump_path: fake, verify_restore: false });
    await scheduler.start();
    const r = await scheduler.runNow('backup');
    await scheduler.stop();
    expect(r.status).toBe('failure');
    expect(r.message).toMatch(/truncated: the pg_dump trailer is missing/);
    expect(await gauge(registry, 'vigil_backup_verified')).toBe(0);
    expect(await gauge(registry, 'vigil_job_failures_total')).toBe(1);
    expect(readdirSync(join(dir, 'backups')).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('fails loudly when pg_dump cannot connect, leaving no file', async () => {
    const { dir, scheduler } = setup({ database_url: 'postgres://postgres@127.0.0.1:1/nope', verify_restore: false });
    await scheduler.start();
    const r = await scheduler.runNow('backup');
    await scheduler.stop();
    expect(r.status).toBe('failure');
    expect(r.message).toMatch(/pg_dump exited with 1/);
    expect(readdirSync(join(dir, 'backups'))).toEqual([]);
  });

  it('verifyArchive rejects corrupt and truncated archives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-verify-'));
    const good = join(dir, 'good.sql.gz');
    writeFileSync(good, gzipSync('SELECT 1;\n--\n-- PostgreSQL database dump complete\n--\n'));
    await expect(verifyArchive(good)).resolves.toMatchObject({ uncompressedBytes: expect.any(Number) });
    const cut = join(dir, 'cut.sql.gz');
    const bytes = readFileSync(good);
    writeFileSync(cut, bytes.subarray(0, bytes.length - 12));
    await expect(verifyArchive(cut)).rejects.toThrow(/corrupt/);
    const garbage = join(dir, 'garbage.sql.gz');
    writeFileSync(garbage, Buffer.from('this is not gzip at all'));
    await expect(verifyArchive(garbage)).rejects.toThrow(/corrupt/);
  });
});

describe('backup retention', () => {
  it('deletes backups older than the retention but never the newest good one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-retention-'));
    const day = 24 * 3600_000;
    const now = Date.UTC(2026, 10, 23, 2, 0, 0);
    const names = [0, 10, 29, 31, 45, 90].map((d) => backupFileName('sical_backup', new Date(now - d * day), 'UTC'));
    for (const n of names) writeFileSync(join(dir, n), 'x');
    writeFileSync(join(dir, 'unrelated.txt'), 'keep me');
    const deleted = await applyRetention(dir, 'sical_backup', 30 * day, join(dir, names[0]), now);
    expect(deleted).toBe(3);
    expect((await listBackups(dir, 'sical_backup')).map((b) => b.file)).toEqual(names.slice(0, 3).map((n) => join(dir, n)));
    expect(readdirSync(dir)).toContain('unrelated.txt');
  });

  it('keeps the newest good backup even when it is older than the retention', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-retention-'));
    const old = backupFileName('sical_backup', new Date(Date.now() - 90 * 24 * 3600_000), 'UTC');
    writeFileSync(join(dir, old), 'x');
    expect(await applyRetention(dir, 'sical_backup', 30 * 24 * 3600_000, join(dir, old))).toBe(0);
    expect(readdirSync(dir)).toEqual([old]);
  });

  it('names files in the job time zone', () => {
    const d = new Date(Date.UTC(2026, 0, 2, 23, 30, 5));
    expect(backupFileName('sical_backup', d, 'UTC')).toBe('sical_backup_20260102_233005.sql.gz');
    expect(backupFileName('sical_backup', d, 'Europe/Paris')).toBe('sical_backup_20260103_003005.sql.gz');
  });
});
