import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { lazySchemaCompilers } from '../../src/api/lazy-schema-compilers.js';

const BODY = { type: 'object', required: ['token'], properties: { token: { type: 'string', minLength: 1 }, n: { type: 'integer', default: 3 } } };
const QUERY = { type: 'object', properties: { active: { type: 'boolean' } } };
const SERIALIZED = { 200: { type: 'object', properties: { a: { type: 'string' } } } };

function app(lazy: boolean): FastifyInstance {
  const a = Fastify(lazy ? { schemaController: { compilersFactory: lazySchemaCompilers } } : {});
  a.post('/b', { schema: { body: BODY } }, async (req) => req.body);
  a.get('/q', { schema: { querystring: QUERY } }, async (req) => req.query);
  a.get('/s', { schema: { response: SERIALIZED } }, async () => ({ a: 'x', hidden: 'y' }));
  return a;
}

describe('lazy schema compilers', () => {
  const own = app(false);
  const lazy = app(true);
  afterAll(async () => {
    await own.close();
    await lazy.close();
  });

  it('validate, fill defaults, coerce and serialize as fastify own compilers do', async () => {
    const requests = [
      { method: 'POST' as const, url: '/b', payload: { token: 'abc' } },
      { method: 'POST' as const, url: '/b', payload: { token: '' } },
      { method: 'POST' as const, url: '/b', payload: { n: 'seven' } },
      { method: 'POST' as const, url: '/b', payload: { token: 'abc', n: 5 } },
      { method: 'GET' as const, url: '/q?active=true' },
      { method: 'GET' as const, url: '/q?active=maybe' },
      { method: 'GET' as const, url: '/s' },
    ];
    for (const r of requests) {
      const [a, b] = await Promise.all([own.inject(r), lazy.inject(r)]);
      expect({ url: r.url, status: b.statusCode, body: b.body }).toEqual({ url: r.url, status: a.statusCode, body: a.body });
    }
    const filled = await lazy.inject({ method: 'POST', url: '/b', payload: { token: 'abc' } });
    expect(filled.json()).toEqual({ token: 'abc', n: 3 });
    expect((await lazy.inject({ method: 'GET', url: '/s' })).json()).toEqual({ a: 'x' });
    const refused = await lazy.inject({ method: 'POST', url: '/b', payload: { token: '' } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().message).toMatch(/token/);
  });
});
