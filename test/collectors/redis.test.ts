import { spawn, type ChildProcess } from 'node:child_process';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createCollectors } from '../../src/collectors/index.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import { freePort, waitFor } from '../helpers/net.js';
import { hasRedis, REDIS_URL, requireBinary } from '../helpers/services.js';

const redisServer = requireBinary('redis-server', 'redis-server');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(redisServer!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  children.push(child);
  const { Redis } = await import('ioredis');
  await waitFor(async () => {
    const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    r.on('error', () => undefined);
    try {
      await r.connect();
      return (await r.ping()) === 'PONG' || undefined;
    } finally {
      r.disconnect();
    }
  });
  return child;
}

function lastUp(storage: MemoryStorage, job = 'redis'): number | undefined {
  const s = storage.querier().select([{ type: '=', name: '__name__', value: 'up' }, { type: '=', name: 'job', value: job }], -Infinity, Infinity)[0];
  return s ? s.v[s.v.length - 1] : undefined;
}

describe.skipIf(!redisServer || !(await hasRedis()))('redis collector', () => {
  it('publishes redis_exporter metrics from the local server', async () => {
    const storage = new MemoryStorage();
    const config = parseConfig(`redis: {url: '${REDIS_URL}', scrape_timeout: 2s}`, 'x.yml', { env: {} });
    const c = createCollectors({ config, storage, registry: new Registry(), logger: silentLogger() });
    try {
      await c.scrapeAll();
      const names = new Set(storage.querier().labelValues('__name__', [{ type: '=', name: 'job', value: 'redis' }], -Infinity, Infinity));
      for (const n of ['up', 'redis_up', 'redis_connected_clients', 'redis_memory_used_bytes', 'redis_memory_max_bytes', 'redis_keyspace_hits_total', 'redis_keyspace_misses_total', 'redis_evicted_keys_total', 'redis_expired_keys_total', 'redis_commands_processed_total', 'redis_instance_info', 'redis_connected_slaves']) {
        expect(names, n).toContain(n);
      }
      const info = storage.querier().select([{ type: '=', name: '__name__', value: 'redis_instance_info' }], -Infinity, Infinity)[0];
      expect(info.labels.role).toBe('master');
      expect(info.labels.instance).toBe(new URL(REDIS_URL).host);
      expect(lastUp(storage)).toBe(1);
    } finally {
      await c.stop();
    }
  });

  it('up goes to 0 for a wrong port and for a stopped server, and back to 1 when it returns', async () => {
    const port = await freePort();
    const wrong = await freePort();
    const storage = new MemoryStorage();
    const config = parseConfig(
      `redis:
  - {url: 'redis://127.0.0.1:${port}', scrape_interval: 300ms, scrape_timeout: 250ms}
  - {url: 'redis://127.0.0.1:${wrong}', job_name: redis-wrong, scrape_timeout: 1s}`,
      'x.yml',
      { env: {} },
    );
    let child = await startRedis(port);
    const c = createCollectors({ config, storage, registry: new Registry(), logger: silentLogger() });
    try {
      await c.scrapeAll();
      expect(lastUp(storage)).toBe(1);
      // As redis_exporter: the collector ran (up 1), the server did not answer (redis_up 0).
      expect(lastUp(storage, 'redis-wrong')).toBe(1);
      await c.start();
      child.kill('SIGKILL');
      const redisUp = () => {
        const s = storage.querier().select([{ type: '=', name: '__name__', value: 'redis_up' }, { type: '=', name: 'job', value: 'redis' }], -Infinity, Infinity)[0];
        return s.v[s.v.length - 1];
      };
      // Within one scrape interval + timeout after the server dies, redis_up is 0.
      await waitFor(() => redisUp() === 0 || undefined, 10_000);
      expect(lastUp(storage)).toBe(1);
      child = await startRedis(port);
      await waitFor(() => redisUp() === 1 || undefined, 10_000);
    } finally {
      await c.stop();
      child.kill('SIGKILL');
    }
  });
});
