import type { FastifyPluginAsync } from 'fastify';
import { requireToken } from '../api/auth.js';
import type { JobScheduler } from './scheduler.js';

/** GET /api/v1/jobs lists jobs; POST /api/v1/jobs/:name/run starts one (token required). */
export function jobsApiRoutes(opts: { scheduler: JobScheduler; token?: string }): FastifyPluginAsync {
  return async (app) => {
    app.get('/api/v1/jobs', async () => ({ status: 'success', data: opts.scheduler.list() }));
    app.post<{ Params: { name: string }; Querystring: { wait?: string } }>(
      '/api/v1/jobs/:name/run',
      { preHandler: requireToken(opts.token) },
      async (req, reply) => {
        const run = opts.scheduler.runNow(req.params.name, 'manual');
        if (req.query.wait === 'false') {
          const r = await Promise.race([run, new Promise<undefined>((res) => setImmediate(() => res(undefined)))]);
          if (r && r.status !== 'success' && r.status !== 'failure') return reply.code(r.status === 'unknown_job' ? 404 : 409).send({ status: 'error', errorType: r.status, error: r.message });
          return reply.code(202).send({ status: 'success', data: { job: req.params.name, status: 'started' } });
        }
        const r = await run;
        const code = r.status === 'success' ? 200 : r.status === 'unknown_job' ? 404 : r.status === 'already_running' ? 409 : 500;
        return reply.code(code).send(code === 200 ? { status: 'success', data: r } : { status: 'error', errorType: r.status, error: r.message, data: r });
      },
    );
  };
}
