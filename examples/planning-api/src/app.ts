import Fastify, { type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { pgCheck, redisCheck, vigilInstrumentation, type ApiLogger, type ApiMetrics } from '../../../src/api/instrumentation/index.js';

export interface AppOptions {
  pool: pg.Pool;
  redis: Redis;
  /** Mount Vigil's instrumentation (the benchmark compares with and without). Default true. */
  instrument?: boolean;
  /** Request log destination; false for none. */
  logger?: ApiLogger | false;
  /** Adds /api/v1/chaos/* routes that fail or stall on purpose (demo only). */
  chaos?: boolean;
  cacheTtlSeconds?: number;
  version?: string;
}

interface PlanRow {
  id: string;
  title: string;
  description: string;
  owner: string;
  created_at: Date;
  updated_at: Date;
}
interface TaskRow {
  id: string;
  plan_id: string;
  title: string;
  due_date: string | null;
  done: boolean;
  created_at: Date;
}

const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[1-9][0-9]{0,17}$' } } } as const;
const planBody = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'owner'],
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 200 },
    description: { type: 'string', maxLength: 5000 },
    owner: { type: 'string', minLength: 1, maxLength: 100 },
  },
} as const;
const taskBody = {
  type: 'object',
  additionalProperties: false,
  required: ['title'],
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 200 },
    due_date: { type: 'string', format: 'date' },
    done: { type: 'boolean' },
  },
} as const;

/** A metrics shim for the uninstrumented variant, so route code stays one version. */
const noMetrics = {
  timeDbQuery: <T>(_o: string, _t: string, fn: () => Promise<T>) => fn(),
  cacheHit: () => undefined,
  cacheMiss: () => undefined,
  businessEvent: () => undefined,
} as unknown as ApiMetrics;

/**
 * The reference study-planning API: study plans and their tasks on PostgreSQL,
 * plans read through a Redis cache. Small, but it exercises every metric,
 * health check and log field Vigil's rules and dashboards rely on.
 */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, ajv: { customOptions: { allErrors: false, removeAdditional: false } } });
  const { pool, redis } = opts;
  const ttl = opts.cacheTtlSeconds ?? 60;

  if (opts.instrument !== false) {
    await app.register(vigilInstrumentation, {
      healthChecks: [pgCheck('database', pool), redisCheck('redis', redis)],
      version: opts.version ?? '1.0.0',
      logger: opts.logger,
    });
  }
  const m = opts.instrument !== false ? app.apiMetrics : noMetrics;
  const db = <T extends pg.QueryResultRow>(operation: string, table: string, sql: string, params: unknown[] = []) =>
    m.timeDbQuery(operation, table, () => pool.query<T>(sql, params));

  const planKey = (id: string) => `planning:plan:${id}`;
  const invalidate = (id: string) => redis.del(planKey(id)).catch(() => 0);

  app.get('/api/v1/plans', async (req) => {
    const q = req.query as { owner?: string; limit?: string };
    const limit = Math.min(Math.max(Number(q.limit) || 50, 1), 200);
    const rows = q.owner
      ? await db<PlanRow>('select', 'study_plans', 'SELECT * FROM study_plans WHERE owner = $1 ORDER BY id DESC LIMIT $2', [q.owner, limit])
      : await db<PlanRow>('select', 'study_plans', 'SELECT * FROM study_plans ORDER BY id DESC LIMIT $1', [limit]);
    return { plans: rows.rows };
  });

  app.post('/api/v1/plans', { schema: { body: planBody } }, async (req, reply) => {
    const b = req.body as { title: string; description?: string; owner: string };
    const r = await db<PlanRow>('insert', 'study_plans', 'INSERT INTO study_plans (title, description, owner) VALUES ($1, $2, $3) RETURNING *', [b.title, b.description ?? '', b.owner]);
    m.businessEvent('plan_created', 'success');
    return reply.code(201).send(r.rows[0]);
  });

  app.get('/api/v1/plans/:id', { schema: { params: idParam } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const cached = await redis.get(planKey(id)).catch(() => null);
    if (cached) {
      m.cacheHit('plan');
      return reply.type('application/json').send(cached);
    }
    m.cacheMiss('plan');
    const plan = await db<PlanRow>('select', 'study_plans', 'SELECT * FROM study_plans WHERE id = $1', [id]);
    if (!plan.rowCount) return reply.code(404).send({ error: 'plan not found' });
    const tasks = await db<TaskRow>('select', 'tasks', 'SELECT * FROM tasks WHERE plan_id = $1 ORDER BY id', [id]);
    const body = JSON.stringify({ ...plan.rows[0], tasks: tasks.rows });
    await redis.set(planKey(id), body, 'EX', ttl).catch(() => undefined);
    return reply.type('application/json').send(body);
  });

  app.put('/api/v1/plans/:id', { schema: { params: idParam, body: planBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const b = req.body as { title: string; description?: string; owner: string };
    const r = await db<PlanRow>('update', 'study_plans', 'UPDATE study_plans SET title = $2, description = $3, owner = $4, updated_at = now() WHERE id = $1 RETURNING *', [id, b.title, b.description ?? '', b.owner]);
    await invalidate(id);
    if (!r.rowCount) return reply.code(404).send({ error: 'plan not found' });
    return r.rows[0];
  });

  app.delete('/api/v1/plans/:id', { schema: { params: idParam } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const r = await db('delete', 'study_plans', 'DELETE FROM study_plans WHERE id = $1', [id]);
    await invalidate(id);
    if (!r.rowCount) return reply.code(404).send({ error: 'plan not found' });
    m.businessEvent('plan_deleted', 'success');
    return reply.code(204).send();
  });

  app.post('/api/v1/plans/:id/tasks', { schema: { params: idParam, body: taskBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const b = req.body as { title: string; due_date?: string; done?: boolean };
    try {
      const r = await db<TaskRow>('insert', 'tasks', 'INSERT INTO tasks (plan_id, title, due_date, done) VALUES ($1, $2, $3, $4) RETURNING *', [id, b.title, b.due_date ?? null, b.done ?? false]);
      await invalidate(id);
      m.businessEvent('task_created', 'success');
      return reply.code(201).send(r.rows[0]);
    } catch (err) {
      if ((err as { code?: string }).code === '23503') {
        m.businessEvent('task_created', 'failure');
        return reply.code(404).send({ error: 'plan not found' });
      }
      throw err;
    }
  });

  app.patch('/api/v1/tasks/:id', { schema: { params: idParam, body: { ...taskBody, required: [] } } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const b = req.body as { title?: string; due_date?: string; done?: boolean };
    const r = await db<TaskRow>(
      'update',
      'tasks',
      'UPDATE tasks SET title = COALESCE($2, title), due_date = COALESCE($3, due_date), done = COALESCE($4, done) WHERE id = $1 RETURNING *',
      [id, b.title ?? null, b.due_date ?? null, b.done ?? null],
    );
    if (!r.rowCount) return reply.code(404).send({ error: 'task not found' });
    await invalidate(r.rows[0].plan_id);
    if (b.done === true) m.businessEvent('task_completed', 'success');
    return r.rows[0];
  });

  app.delete('/api/v1/tasks/:id', { schema: { params: idParam } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const r = await db<TaskRow>('delete', 'tasks', 'DELETE FROM tasks WHERE id = $1 RETURNING plan_id', [id]);
    if (!r.rowCount) return reply.code(404).send({ error: 'task not found' });
    await invalidate(r.rows[0].plan_id);
    return reply.code(204).send();
  });

  if (opts.chaos) {
    app.get('/api/v1/chaos/error', async () => {
      throw new Error('injected failure');
    });
    app.get('/api/v1/chaos/slow', async (req) => {
      const ms = Math.min(Number((req.query as { ms?: string }).ms) || 1500, 10_000);
      await new Promise((r) => setTimeout(r, ms));
      return { slept: ms };
    });
  }

  app.setErrorHandler((err: { statusCode?: number; message: string; validation?: unknown }, _req, reply) => {
    if (err.validation) return reply.code(400).send({ error: err.message });
    const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    return reply.code(status).send({ error: status === 500 ? 'internal error' : err.message });
  });
  return app;
}
