import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import { sendError } from './errors.js';

/** docs/runbooks/ of this package, from src/api or dist/api alike. */
const RUNBOOK_DIR = fileURLToPath(new URL('../../docs/runbooks/', import.meta.url));

/**
 * GET /runbooks/<Alert>.md: the runbooks alert annotations link to
 * (`{{ $externalURL }}/runbooks/...`), served as Markdown text.
 */
export function runbookRoutes(dir = RUNBOOK_DIR): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { name: string } }>('/runbooks/:name', async (req, reply) => {
      const { name } = req.params;
      // Names only: no path separators, no dot files.
      if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,100}\.md$/.test(name)) return sendError(reply, 404, 'not_found', 'no such runbook');
      try {
        const text = await readFile(`${dir}${name}`, 'utf8');
        return reply.type('text/markdown; charset=utf-8').send(text);
      } catch {
        return sendError(reply, 404, 'not_found', `no runbook ${name}`);
      }
    });
  };
}
