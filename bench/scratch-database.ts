/**
 * A PostgreSQL database of its own for one benchmark run (the planning API's
 * tables), dropped afterwards even when the run fails.
 */
import pg from 'pg';
import { PG_URL } from '../test/helpers/services.js';

export async function withScratchDatabase<T>(prefix: string, run: (url: string) => Promise<T>): Promise<T> {
  const db = `${prefix}_${process.pid}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${db}`);
    const u = new URL(PG_URL);
    u.pathname = `/${db}`;
    return await run(u.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  }
}
