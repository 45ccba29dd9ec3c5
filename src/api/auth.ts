import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * preHandler for endpoints that change state or accept data. With no token
 * configured it lets everything through (the embedded default listens on
 * loopback); with one, it wants `Authorization: Bearer <token>`.
 */
export function requireToken(token: string | undefined) {
  const expected = token ? Buffer.from(token) : undefined;
  return async function checkToken(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (!expected) return;
    const header = req.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ status: 'error', errorType: 'unauthorized', error: 'missing or wrong bearer token' });
    }
  };
}
