import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCollectors, type Collectors } from '../../src/collectors/index.js';
import type { CollectorsConfig } from '../../src/config/collectors.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import type { Matcher, SeriesData } from '../../src/tsdb/types.js';
import { waitFor } from '../helpers/net.js';
import { seedMetricsText } from './fixtures/seed-metrics.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = (_req, res) => res.end(seedMetricsText());
let server: Server;
let address: string;
let lastAccept = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    lastAccept = String(req.headers.accept ?? '');
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

let current: Collectors | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
  handler = (_req, res) => res.end(seedMetricsText());
});

function config(yaml: string): CollectorsConfig {
  return parseConfig(yaml, 'test.yml', { env: { TARGET: address } });
}

function setup(yaml: string): { storage: MemoryStorage; collectors: Collectors } {
  const storage = new MemoryStorage();
  const collectors = createCollectors({ config: config(yaml), storage, registry: new Registry(), logger: silentLogger() });
  current = collectors;
  return { storage, collectors };
}

function select(storage: MemoryStorage, ...m: Array<[string, string]>): SeriesData[] {
  const matchers: Matcher[] = m.map(([name, value]) => ({ type: '=', name, value }));
  return storage.querier().select(matchers, -Infinity, Infinity);
}
function last(s: SeriesData): number {
  return s.v[s.v.length - 1];
}
function lastIsStale(s: SeriesData): boolean {
  return !!s.stale && s.stale[s.stale.length - 1] === 1;
}

const job = (extra = '') => `
scrape_configs:
  - job_name: sical-backend
    scrape_interval: 15s
    scrape_timeout: 1s
    static_configs: [{targets: ['\${TARGET}'], labels: {env: test}}]
${extra}`;

describe('scrape loop', () => {
  it('scrapes the seed metrics and stores them with job and instance labels', async () => {
    const { storage, collectors } = setup(job());
    await collectors.scrapeAll();
    const req = select(storage, ['__name__', 'http_requests_total'], ['method', 'GET'], ['endpoint', '/api/v1/plans'], ['status', '500']);
    expect(req).toHaveLength(1);
    expect(req[0].labels).toEqual({
      __name__: 'http_requests_total',
      method: 'GET',
      endpoint: '/api/v1/plans',
      status: '500',
      job: 'sical-backend',
      instance: address,
      env: 'test',
    });
    expect(last(req[0])).toBe(3);
    for (const name of ['http_request_duration_seconds_bucket', 'active_connections', 'db_query_duration_seconds_bucket', 'cache_hits_total', 'cache_misses_total', 'business_events_total', 'process_resident_memory_bytes', 'process_cpu_seconds_total']) {
      expect(select(storage, ['__name__', name], ['job', 'sical-backend']).length, name).toBeGreaterThan(0);
    }
    const up = select(storage, ['__name__', 'up'], ['job', 'sical-backend'], ['instance', address]);
    expect(up.map(last)).toEqual([1]);
    const scraped = last(select(storage, ['__name__', 'scrape_samples_scraped'])[0]);
    expect(scraped).toBe(seedMetricsText().split('\n').filter((l) => l && !l.startsWith('#')).length);
    expect(last(select(storage, ['__name__', 'scrape_samples_post_metric_relabeling'])[0])).toBe(scraped);
    expect(last(select(storage, ['__name__', 'scrape_series_added'])[0])).toBe(scraped);
    expect(last(select(storage, ['__name__', 'scrape_duration_seconds'])[0])).toBeGreaterThan(0);
    expect(lastAccept).toMatch(/^application\/openmetrics-text;version=1\.0\.0.*text\/plain;version=0\.0\.4/);
    expect(collectors.targets()[0]).toMatchObject({ health: 'up', lastError: '', scrapeUrl: `http://${address}/metrics` });

    await collectors.scrapeAll();
    expect(last(select(storage, ['__name__', 'scrape_series_added'])[0])).toBe(0);
  });

  it('writes staleness markers when a series vanishes and when the target fails', async () => {
    const { storage, collectors } = setup(job());
    handler = (_req, res) => res.end('a 1\nb 2\n');
    await collectors.scrapeAll();
    handler = (_req, res) => res.end('a 2\n');
    await collectors.scrapeAll();
    expect(lastIsStale(select(storage, ['__name__', 'b'])[0])).toBe(true);
    expect(lastIsStale(select(storage, ['__name__', 'a'])[0])).toBe(false);

    handler = (_req, res) => {
      res.statusCode = 500;
      res.end('boom');
    };
    await collectors.scrapeAll();
    expect(lastIsStale(select(storage, ['__name__', 'a'])[0])).toBe(true);
    expect(last(select(storage, ['__name__', 'up'])[0])).toBe(0);
    expect(collectors.targets()[0].lastError).toBe('server returned HTTP status 500');

    handler = (_req, res) => res.end('a 3\n');
    await collectors.scrapeAll();
    expect(last(select(storage, ['__name__', 'a'])[0])).toBe(3);
    expect(last(select(storage, ['__name__', 'up'])[0])).toBe(1);
  });

  it('fails the scrape (up 0) on a malformed exposition, naming the line', async () => {
    const { storage, collectors } = setup(job());
    handler = (_req, res) => res.end('ok 1\nbad{x="\\q"} 1\n');
    await collectors.scrapeAll();
    expect(last(select(storage, ['__name__', 'up'])[0])).toBe(0);
    expect(collectors.targets()[0].lastError).toMatch(/^line 2: invalid escape/);
    expect(select(storage, ['__name__', 'ok'])).toHaveLength(0);
  });

  it('enforces body_size_limit and sample_limit', async () => {
    const { storage, collectors } = setup(job('    body_size_limit: 1KiB\n  - job_name: limited\n    sample_limit: 5\n    static_configs: [{targets: [\'${TARGET}\']}]\n'));
    handler = (_req, res) => res.end(seedMetricsText());
    await collectors.scrapeAll();
    const byJob = Object.fromEntries(collectors.targets().map((t) => [t.labels.job, t]));
    expect(byJob['sical-backend'].lastError).toBe('body size limit exceeded (limit 1024 bytes)');
    expect(byJob.limited.lastError).toBe('sample limit exceeded (limit 5)');
    expect(select(storage, ['__name__', 'up']).map(last)).toEqual([0, 0]);
    expect(select(storage, ['__name__', 'http_requests_total'])).toHaveLength(0);
  });

  it('applies the body limit to gzip-decompressed bodies and reads gzip', async () => {
    const { storage, collectors } = setup(job('    body_size_limit: 100KiB\n'));
    handler = (req, res) => {
      expect(req.headers['accept-encoding']).toMatch(/gzip/);
      res.setHeader('content-encoding', 'gzip');
      res.end(gzipSync(seedMetricsText()));
    };
    await collectors.scrapeAll();
    expect(last(select(storage, ['__name__', 'up'])[0])).toBe(1);
    handler = (_req, res) => {
      res.setHeader('content-encoding', 'gzip');
      res.end(gzipSync('a 1\n'.repeat(1) + '# ' + 'x'.repeat(1_000_000) + '\n'));
    };
    await collectors.scrapeAll();
    expect(collectors.targets()[0].lastError).toMatch(/body size limit exceeded/);
  });

  it('times out a slow target within the scrape timeout (up 0)', async () => {
    const { storage, collectors } = setup(job());
    handler = () => {
      /* never answers */
    };
    const t0 = Date.now();
    await collectors.scrapeAll();
    // Generous bound: the point is that it does not wait for the server.
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(last(select(storage, ['__name__', 'up'])[0])).toBe(0);
    expect(collectors.targets()[0].lastError).toMatch(/timed out after 1000ms/);
  });

  it('keeps conflicting scraped labels as exported_*, or the scraped ones with honor_labels', async () => {
    handler = (_req, res) => res.end('m{job="batch",instance="worker-1"} 1\n');
    const a = setup(job());
    await a.collectors.scrapeAll();
    expect(select(a.storage, ['__name__', 'm'])[0].labels).toEqual({ __name__: 'm', job: 'sical-backend', instance: address, exported_job: 'batch', exported_instance: 'worker-1', env: 'test' });
    await a.collectors.stop();
    const b = setup(job('    honor_labels: true\n'));
    await b.collectors.scrapeAll();
    expect(select(b.storage, ['__name__', 'm'])[0].labels).toEqual({ __name__: 'm', job: 'batch', instance: 'worker-1', env: 'test' });
  });

  it('negotiates OpenMetrics and honors (or not) exposed timestamps', async () => {
    handler = (_req, res) => {
      res.setHeader('content-type', 'application/openmetrics-text; version=1.0.0; charset=utf-8');
      res.end('# TYPE jobs counter\njobs_total 5 1700000000.5\n# EOF\n');
    };
    const a = setup(job());
    await a.collectors.scrapeAll();
    expect([...select(a.storage, ['__name__', 'jobs_total'])[0].t]).toEqual([1700000000500]);
    await a.collectors.stop();
    const b = setup(job('    honor_timestamps: false\n'));
    await b.collectors.scrapeAll();
    expect(select(b.storage, ['__name__', 'jobs_total'])[0].t[0]).toBeGreaterThan(1700000000500);
  });

  it('counts new series, keeps the first of series that collide after relabeling, and tracks series that vanish and return', async () => {
    const { storage, collectors } = setup(job(`    metric_relabel_configs: [{regex: drop_me, action: labeldrop}]`));
    const added = () => last(select(storage, ['__name__', 'scrape_series_added'])[0]);
    handler = (_req, res) => res.end('a{drop_me="x"} 1\na{drop_me="y"} 2\nb 5\n');
    await collectors.scrapeAll();
    expect(added()).toBe(2);
    expect(select(storage, ['__name__', 'a'])[0].v[0]).toBe(1);
    handler = (_req, res) => res.end('a{drop_me="y"} 3\na{drop_me="x"} 4\n');
    await collectors.scrapeAll();
    expect(added()).toBe(0);
    expect(last(select(storage, ['__name__', 'a'])[0])).toBe(3);
    expect(lastIsStale(select(storage, ['__name__', 'b'])[0])).toBe(true);
    handler = (_req, res) => res.end('a{drop_me="z"} 6\nb 7\n');
    await collectors.scrapeAll();
    expect(added()).toBe(1);
    expect(last(select(storage, ['__name__', 'a'])[0])).toBe(6);
    expect(last(select(storage, ['__name__', 'b'])[0])).toBe(7);
    handler = (_req, res) => res.end('b 8\n');
    await collectors.scrapeAll();
    expect(lastIsStale(select(storage, ['__name__', 'a'])[0])).toBe(true);
    expect(last(select(storage, ['__name__', 'b'])[0])).toBe(8);
  });

  it('applies relabel_configs to targets and metric_relabel_configs to samples', async () => {
    const { storage, collectors } = setup(
      job(`    relabel_configs:
      - {source_labels: [__address__], regex: '([^:]+):.*', target_label: host}
    metric_relabel_configs:
      - {source_labels: [__name__], regex: 'http_request_duration_seconds_.*|db_.*', action: drop}
      - {source_labels: [status], regex: '5..', target_label: failed, replacement: 'yes'}`),
    );
    await collectors.scrapeAll();
    expect(select(storage, ['__name__', 'http_request_duration_seconds_bucket'])).toHaveLength(0);
    const failed = select(storage, ['__name__', 'http_requests_total'], ['failed', 'yes']);
    expect(failed.length).toBe(8);
    expect(failed[0].labels.host).toBe('127.0.0.1');
    const scraped = last(select(storage, ['__name__', 'scrape_samples_scraped'])[0]);
    const post = last(select(storage, ['__name__', 'scrape_samples_post_metric_relabeling'])[0]);
    expect(post).toBeLessThan(scraped);
    expect(select(storage, ['__name__', 'up'])[0].labels.host).toBe('127.0.0.1');
  });

  it('reload keeps unchanged targets and ends removed ones with staleness markers', async () => {
    const { storage, collectors } = setup(job('  - job_name: other\n    static_configs: [{targets: [\'${TARGET}\']}]\n'));
    handler = (_req, res) => res.end('a 1\n');
    await collectors.start();
    await collectors.scrapeAll();
    await collectors.reload(config(job()));
    expect(collectors.targets().map((t) => t.labels.job)).toEqual(['sical-backend']);
    expect(lastIsStale(select(storage, ['__name__', 'a'], ['job', 'other'])[0])).toBe(true);
    expect(lastIsStale(select(storage, ['__name__', 'up'], ['job', 'other'])[0])).toBe(true);
    // The kept target still knows its series: none are new.
    await collectors.scrapeAll();
    expect(last(select(storage, ['__name__', 'scrape_series_added'], ['job', 'sical-backend'])[0])).toBe(0);
    // Changed settings of a kept target apply in place.
    await collectors.reload(config(job('    metric_relabel_configs: [{source_labels: [__name__], regex: a, action: drop}]\n')));
    await collectors.scrapeAll();
    expect(lastIsStale(select(storage, ['__name__', 'a'], ['job', 'sical-backend'])[0])).toBe(true);
  });

  it('scrapes on its own at the configured interval once started', async () => {
    const { storage, collectors } = setup(job().replace('15s', '200ms').replace('1s', '150ms'));
    handler = (_req, res) => res.end('a 1\n');
    await collectors.start();
    await waitFor(() => (select(storage, ['__name__', 'up'])[0]?.v.length ?? 0) >= 3 || undefined, 10_000);
    const t = select(storage, ['__name__', 'up'])[0].t;
    // Scrapes land on the target's fixed offset within each interval.
    expect((t[1] - t[0]) % 200).toBe(0);
  });

  it('scrapes Vigil itself at selfUrl', async () => {
    const storage = new MemoryStorage();
    const collectors = createCollectors({ config: config(''), storage, registry: new Registry(), logger: silentLogger(), selfUrl: `http://${address}` });
    current = collectors;
    handler = (_req, res) => res.end('vigil_thing 1\n');
    await collectors.scrapeAll();
    expect(select(storage, ['__name__', 'vigil_thing'])[0].labels).toEqual({ __name__: 'vigil_thing', job: 'vigil', instance: address });
  });

  it('scrapes Vigil itself on the main thread, starting no scrape worker', async () => {
    const storage = new MemoryStorage();
    // A worker could not start from this module: a scrape through the pool would fail.
    const scrapePool = { workerUrl: new URL('./no-such-worker.js', import.meta.url) };
    const collectors = createCollectors({ config: config(''), storage, registry: new Registry(), logger: silentLogger(), selfUrl: `http://${address}`, scrapePool });
    current = collectors;
    handler = (_req, res) => res.end('vigil_thing 1\n');
    await collectors.scrapeAll();
    expect(last(select(storage, ['__name__', 'up'])[0])).toBe(1);
    expect(select(storage, ['__name__', 'vigil_thing'])[0].labels).toEqual({ __name__: 'vigil_thing', job: 'vigil', instance: address });
  });
});
