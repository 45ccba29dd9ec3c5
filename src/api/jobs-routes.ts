import type { FastifyPluginAsync } from 'fastify';
import type { JobScheduler } from '../jobs/index.js';
import { sendError } from './errors.js';

const JOB_NAME = { type: 'string', minLength: 1, maxLength: 200 } as const;

/** GET /api/v1/jobs lists jobs; POST /api/v1/jobs/:name/run starts one (write access). */
export function jobsRoutes(opts: { scheduler: JobScheduler }): FastifyPluginAsync {
  return async (app) => {
    app.get('/api/v1/jobs', async () => ({ status: 'success', data: opts.scheduler.list() }));
    app.post<{ Params: { name: string }; Querystring: { wait?: 'true' | 'false' } }>(
      '/api/v1/jobs/:name/run',
      {
        config: { access: 'write' },
        schema: {
          params: { type: 'object', properties: { name: JOB_NAME }, required: ['name'] },
          querystring: { type: 'object', properties: { wait: { type: 'string', enum: ['true', 'false'] } }, additionalProperties: false },
        },
      },
      async (req, reply) => {
        const run = opts.scheduler.runNow(req.params.name, 'manual');
        if (req.query.wait === 'false') {
          const r = await Promise.race([run, new Promise<undefined>((res) => setImmediate(() => res(undefined)))]);
          if (r && r.status !== 'success' && r.status !== 'failure') return sendError(reply, r.status === 'unknown_job' ? 404 : 409, r.status, r.message ?? r.status);
          return reply.code(202).send({ status: 'success', data: { job: req.params.name, status: 'started' } });
        }
        const r = await run;
        const code = r.status === 'success' ? 200 : r.status === 'unknown_job' ? 404 : r.status === 'already_running' ? 409 : 500;
        if (code === 200) return reply.code(200).send({ status: 'success', data: r });
        return sendError(reply, code, r.status, r.message ?? r.status, { data: r });
      },
    );
  };
}
