import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../examples/planning-api/src/app.js';
import { migrate } from '../../examples/planning-api/src/migrate.js';
import { parseExposition } from '../../src/collectors/exposition.js';
import { hasPostgres, hasRedis, PG_URL, REDIS_URL } from '../helpers/services.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const ok = (await hasPostgres()) && (await hasRedis());

describe.skipIf(!ok)('reference planning API (real PostgreSQL and Redis behind cuttable proxies)', () => {
  const db = `planning_test_${process.pid}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  let pgProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let pool: pg.Pool;
  let redis: Redis;
  let app: FastifyInstance;

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${db}`);
    const pgu = new URL(PG_URL);
    pgProxy = new TcpProxy(pgu.hostname, Number(pgu.port || 5432));
    const ru = new URL(REDIS_URL);
    redisProxy = new TcpProxy(ru.hostname, Number(ru.port || 6379));
    const pgPort = await pgProxy.start();
    const redisPort = await redisProxy.start();
    pool = new pg.Pool({ connectionString: `postgres://${pgu.username || 'postgres'}@127.0.0.1:${pgPort}/${db}`, connectionTimeoutMillis: 1000, max: 5 });
    pool.on('error', () => undefined);
    redis = new Redis({ host: '127.0.0.1', port: redisPort, keyPrefix: `t${process.pid}:`, connectTimeout: 500, commandTimeout: 1000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 100 });
    redis.on('error', () => undefined);
    expect(await migrate(pool)).toEqual(['001_plans_and_tasks.sql']);
    expect(await migrate(pool)).toEqual([]); // idempotent
    app = await buildApp({ pool, redis, logger: false });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await pool?.end();
    redis?.disconnect();
    await pgProxy?.stop();
    await redisProxy?.stop();
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  });

  it('serves plans and tasks with validation, cache and business metrics', async () => {
    const created = await app.inject({ method: 'POST', url: '/api/v1/plans', payload: { title: 'Exams', owner: 'ana' } });
    expect(created.statusCode).toBe(201);
    const plan = created.json();
    const task = await app.inject({ method: 'POST', url: `/api/v1/plans/${plan.id}/tasks`, payload: { title: 'Read chapter 1', due_date: '2026-12-01' } });
    expect(task.statusCode).toBe(201);
    const first = await app.inject(`/api/v1/plans/${plan.id}`);
    const second = await app.inject(`/api/v1/plans/${plan.id}`);
    expect(first.json().tasks).toHaveLength(1);
    expect(second.json()).toEqual(first.json());
    const done = await app.inject({ method: 'PATCH', url: `/api/v1/tasks/${task.json().id}`, payload: { done: true } });
    expect(done.json().done).toBe(true);
    // The write invalidated the cached plan.
    expect((await app.inject(`/api/v1/plans/${plan.id}`)).json().tasks[0].done).toBe(true);

    expect((await app.inject({ method: 'POST', url: '/api/v1/plans', payload: { title: '', owner: 'x' } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/api/v1/plans', payload: { title: 'x', owner: 'y', admin: true } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/api/v1/plans', headers: { 'content-type': 'application/json' }, payload: '{bad json' })).statusCode).toBe(400);
    expect((await app.inject('/api/v1/plans/0')).statusCode).toBe(400);
    expect((await app.inject("/api/v1/plans/1;DROP TABLE tasks")).statusCode).toBe(400);
    expect((await app.inject('/api/v1/plans/999999')).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/api/v1/plans/999999/tasks', payload: { title: 't' } })).statusCode).toBe(404);

    const { samples } = parseExposition((await app.inject('/metrics')).body);
    const value = (name: string, labels: Record<string, string>) =>
      samples.find((s) => s.labels.__name__ === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value('cache_misses_total', { cache_type: 'plan' })).toBe(3);
    expect(value('cache_hits_total', { cache_type: 'plan' })).toBe(1);
    expect(value('business_events_total', { event_type: 'plan_created', status: 'success' })).toBe(1);
    expect(value('business_events_total', { event_type: 'task_completed', status: 'success' })).toBe(1);
    expect(value('business_events_total', { event_type: 'task_created', status: 'failure' })).toBe(1);
    expect(value('db_query_duration_seconds_count', { operation: 'insert', table: 'study_plans' })).toBe(1);
    expect(value('http_requests_total', { method: 'GET', endpoint: '/api/v1/plans/:id', status: '200' })).toBe(3);
    expect(value('http_requests_total', { method: 'POST', endpoint: '/api/v1/plans', status: '400' })).toBe(3);
  });

  it('reports each dependency in /health and answers 503 while it is unreachable', async () => {
    const healthy = await app.inject('/health');
    expect(healthy.statusCode).toBe(200);
    expect(healthy.json().services).toEqual({ database: 'healthy', redis: 'healthy' });

    await redisProxy.cut();
    const noRedis = await app.inject('/health');
    expect(noRedis.statusCode).toBe(503);
    expect(noRedis.json().services.database).toBe('healthy');
    expect(noRedis.json().services.redis).toMatch(/^unhealthy: /);
    // Readiness stays shallow; reads fall back to the database.
    expect((await app.inject('/ready')).statusCode).toBe(200);
    await redisProxy.restore();

    await pgProxy.cut();
    const noDb = await app.inject('/health');
    expect(noDb.statusCode).toBe(503);
    expect(noDb.json().services.database).toMatch(/^unhealthy: /);
    await pgProxy.restore();

    await new Promise((r) => setTimeout(r, 300));
    const back = await app.inject('/health');
    expect(back.json()).toMatchObject({ status: 'healthy' });
  });
});
