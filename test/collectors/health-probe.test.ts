import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interpretHealth } from '../../src/collectors/health-probe.js';
import { createCollectors } from '../../src/collectors/index.js';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';

let respond: (res: ServerResponse) => void = () => undefined;
let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((_req, res) => respond(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const json = (status: number, body: unknown) => (res: ServerResponse) => {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

describe('health probes', () => {
  it('interprets the health contract', () => {
    const healthy = interpretHealth(200, 'application/json', JSON.stringify({ status: 'healthy', services: { database: 'healthy', redis: 'healthy' } }), []);
    expect(healthy).toMatchObject({ success: true, dependencies: [{ name: 'database', up: true }, { name: 'redis', up: true }] });
    const sick = interpretHealth(503, 'application/json', JSON.stringify({ status: 'unhealthy', services: { database: 'unhealthy: dial tcp: connection refused', redis: 'healthy' } }), []);
    expect(sick.success).toBe(false);
    expect(sick.dependencies[0]).toEqual({ name: 'database', up: false, detail: 'unhealthy: dial tcp: connection refused' });
    expect(interpretHealth(200, 'application/json', '{"status": "ready"', []).reason).toMatch(/malformed health JSON/);
    expect(interpretHealth(200, 'application/json', '[1]', []).success).toBe(false);
    expect(interpretHealth(200, 'text/plain', 'OK', []).success).toBe(true);
    expect(interpretHealth(204, '', '', [200]).success).toBe(false);
    // Hostile bodies: thousands of dependencies are capped, long names skipped.
    const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`dep${i}`, 'healthy']));
    expect(interpretHealth(200, 'application/json', JSON.stringify({ status: 'healthy', services: { ...many, ['x'.repeat(1000)]: 'healthy' } }), []).dependencies.length).toBe(64);
  });

  it('publishes probe_* and one probe_dependency_up per dependency, error text only in the log', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (l: string) => lines.push(l) } as unknown as NodeJS.WritableStream });
    const config = parseConfig(
      `health_checks:
  - {job_name: sical-backend-health, url: '${base}/health', scrape_interval: 10s, scrape_timeout: 2s}`,
      'x.yml',
      { env: {} },
    );
    const storage = new MemoryStorage();
    const c = createCollectors({ config, storage, registry: new Registry(), logger });
    const q = (name: string) => storage.querier().select([{ type: '=', name: '__name__', value: name }], -Infinity, Infinity);
    const lastOf = (name: string, dep?: string) => {
      const s = q(name).find((x) => dep === undefined || x.labels.dependency === dep)!;
      return s.v[s.v.length - 1];
    };
    try {
      respond = json(200, { status: 'healthy', timestamp: 'now', services: { database: 'healthy', redis: 'healthy' }, version: '1', uptime: '1h' });
      await c.scrapeAll();
      expect(lastOf('probe_success')).toBe(1);
      expect(lastOf('probe_http_status_code')).toBe(200);
      expect(lastOf('probe_duration_seconds')).toBeGreaterThan(0);
      expect(lastOf('probe_dependency_up', 'database')).toBe(1);
      expect(lastOf('up')).toBe(1);
      expect(q('probe_success')[0].labels).toEqual({ __name__: 'probe_success', job: 'sical-backend-health', instance: `${base}/health` });

      respond = json(503, { status: 'unhealthy', services: { database: 'unhealthy: pq: password authentication failed', redis: 'healthy' } });
      await c.scrapeAll();
      expect(lastOf('probe_success')).toBe(0);
      expect(lastOf('probe_http_status_code')).toBe(503);
      expect(lastOf('probe_dependency_up', 'database')).toBe(0);
      expect(lastOf('probe_dependency_up', 'redis')).toBe(1);
      // The error text is not a label: still exactly two dependency series.
      expect(q('probe_dependency_up')).toHaveLength(2);
      expect(lines.join('')).toMatch(/database: unhealthy: pq: password authentication failed/);

      respond = json(200, '{"status": "healthy", "services": {');
      await c.scrapeAll();
      expect(lastOf('probe_success')).toBe(0);
      expect(lines.join('')).toMatch(/malformed health JSON/);

      // Unreachable: probe_success 0, status 0.
      respond = (res) => res.socket?.destroy();
      await c.scrapeAll();
      expect(lastOf('probe_success')).toBe(0);
      expect(lastOf('probe_http_status_code')).toBe(0);
    } finally {
      await c.stop();
    }
  });
});
