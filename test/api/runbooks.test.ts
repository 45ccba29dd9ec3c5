import Fastify from 'fastify';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runbookRoutes } from '../../src/api/runbooks.js';

describe('runbook pages', () => {
  it('serves every runbook an alert rule links to, and nothing else', async () => {
    const app = Fastify();
    await app.register(runbookRoutes());
    const linked = new Set<string>();
    for (const f of readdirSync('rules').filter((n) => n.endsWith('.yml'))) {
      for (const m of readFileSync(`rules/${f}`, 'utf8').matchAll(/runbook_url: "\{\{ \$externalURL \}\}\/runbooks\/([^"]+)"/g)) linked.add(m[1]);
    }
    expect(linked.size).toBeGreaterThan(10);
    for (const name of linked) {
      const res = await app.inject(`/runbooks/${name}`);
      expect(res.statusCode, name).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/markdown/);
    }
    for (const bad of ['..%2F..%2Fpackage.json', '.hidden.md', 'x.txt', '%2Fetc%2Fpasswd', 'a'.repeat(300) + '.md', 'Nope.md']) {
      expect([404, 414], bad).toContain((await app.inject(`/runbooks/${bad}`)).statusCode);
    }
    await app.close();
  });
});
