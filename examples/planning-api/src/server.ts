import { Redis } from 'ioredis';
import pg from 'pg';
import { buildApp } from './app.js';
import { migrate } from './migrate.js';

/**
 * Starts the reference planning API. Configuration from the environment:
 * DATABASE_URL, REDIS_URL, PORT (8080), HOST (0.0.0.0), PLANNING_API_CHAOS=1,
 * PLANNING_API_INSTRUMENT=0 (without Vigil's plugin, for the overhead benchmark).
 */
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/sical_db';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '0.0.0.0';

// Pool sizes follow the documented settings: 25 open, 5 idle, 1h lifetime.
const pool = new pg.Pool({ connectionString: databaseUrl, max: 25, idleTimeoutMillis: 30_000, maxLifetimeSeconds: 3600, connectionTimeoutMillis: 5000 });
pool.on('error', (err) => console.error(JSON.stringify({ level: 'error', logger: 'db', message: err.message, timestamp: new Date().toISOString() })));
const redis = new Redis(redisUrl, { connectTimeout: 4000, commandTimeout: 4000, maxRetriesPerRequest: 1, enableOfflineQueue: false });
redis.on('error', () => undefined); // reported through /health

await migrate(pool);
const app = await buildApp({
  pool,
  redis,
  chaos: process.env.PLANNING_API_CHAOS === '1',
  instrument: process.env.PLANNING_API_INSTRUMENT !== '0',
  logger: process.env.PLANNING_API_REQUEST_LOG === '0' ? false : undefined,
  version: process.env.APP_VERSION,
});
await app.listen({ port, host });
console.log(JSON.stringify({ level: 'info', logger: 'main', message: `planning API listening on ${host}:${port}`, timestamp: new Date().toISOString() }));

const shutdown = async () => {
  await app.close();
  await pool.end();
  redis.disconnect();
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
