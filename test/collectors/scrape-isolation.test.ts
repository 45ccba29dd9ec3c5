/**
 * A misbehaving target costs its own scrape worker, never the main thread or
 * the other targets; limits stop a scrape as soon as they are crossed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCollectors, type Collectors, type CollectorsOptions } from '../../src/collectors/index.js';
import { TargetScraper, type TargetSpec } from '../../src/collectors/target-scrape.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import { turnsDuring } from '../helpers/event-loop.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const routes = new Map<string, Handler>();
let server: Server;
let address = '';
/** Bytes each endless route managed to write before the scraper hung up. */
const written = new Map<string, number>();

/** Writes `chunk` until the client goes away, honouring backpressure. */
function endless(path: string, chunk: (i: number) => string): Handler {
  return (_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    let i = 0;
    let total = 0;
    const pump = () => {
      while (!res.destroyed) {
        const c = chunk(i++);
        total += Buffer.byteLength(c);
        written.set(path, total);
        if (!res.write(c)) return void res.once('drain', pump);
      }
    };
    res.on('close', () => written.set(path, total));
    pump();
  };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const h = routes.get(req.url ?? '');
    if (h) h(req, res);
    else res.end('ok_metric{a="b"} 1\n');
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
});

const misbehaving = new URL('./fixtures/misbehaving-worker.ts', import.meta.url);
const queuedWorker = new URL('./fixtures/queued-worker.ts', import.meta.url);

/** One job per path, so each path is its own target. */
function setup(paths: string[], extra = '', opts: Partial<CollectorsOptions> = {}, timeout = '1s') {
  const jobs = paths.map((p, i) => `  - {job_name: j${i}, metrics_path: '${p}', scrape_timeout: ${timeout}, targets: ['${address}']${extra}}`).join('\n');
  const config = parseConfig(`scrape_configs:\n${jobs}\n`, 'test.yml', { env: {} });
  const storage = new MemoryStorage();
  const registry = new Registry();
  const collectors = createCollectors({ config, storage, registry, logger: silentLogger(), ...opts });
  current = collectors;
  const up = (path: string) => {
    const s = storage.querier().select([{ type: '=', name: '__name__', value: 'up' }, { type: '=', name: 'job', value: `j${paths.indexOf(path)}` }], -Infinity, Infinity)[0];
    return s?.v[s.v.length - 1];
  };
  const error = (path: string) => collectors.targets().find((t) => t.labels.job === `j${paths.indexOf(path)}`)?.lastError ?? '';
  return { storage, registry, collectors, up, error };
}

describe('scrape workers', () => {
  it('replaces a worker stuck on one target; the others, on the same worker too, are scraped', async () => {
    const paths = ['/hang', '/a', '/b', '/c'];
    const { collectors, up, error } = setup(paths, '', { scrapePool: { workers: 2, graceMs: 200, workerUrl: misbehaving } });
    const turns = await turnsDuring(collectors.scrapeAll());
    expect(up('/hang')).toBe(0);
    expect(error('/hang')).toMatch(/stopped responding/);
    for (const p of ['/a', '/b', '/c']) expect(up(p), `${p}: ${error(p)}`).toBe(1);
    expect(turns).toBeGreaterThan(100);
    // And again, on the replacement workers.
    await collectors.scrapeAll();
    for (const p of ['/a', '/b', '/c']) expect(up(p), `${p}: ${error(p)}`).toBe(1);
  });

  it.runIf(existsSync('/proc/thread-self'))('keeps a worker that is starved of CPU (no heartbeat, no CPU used): only a spinning one is stuck', async () => {
    // Several targets wait on the blocked worker, each with its own hang timer: the worker is still judged
    // once per grace period, so its allowance for starvation does not shrink with the number of targets.
    const paths = ['/starve', '/a', '/b', '/c', '/d', '/e', '/f'];
    const { collectors, error } = setup(paths, '', { scrapePool: { workers: 1, graceMs: 200, workerUrl: misbehaving } }, '500ms');
    await collectors.scrapeAll();
    // Its own timeout answered (the body could not be read while blocked); the worker was not replaced.
    expect(error('/starve')).not.toMatch(/stopped responding/);
    for (const p of paths.slice(1)) expect(error(p)).not.toMatch(/stopped responding|replaced/);
  });

  it('a worker starved of CPU does not turn a healthy target\'s first scrape into up == 0', async () => {
    // The worker's thread is held for 800 ms just after the scrape starts, past the 500 ms timeout, and the
    // target answers at once after that: counted as waiting for a core, the scrape is kept; not counted
    // (time the thread spent running or asleep), it times out. That control shows the hold is long enough.
    const paths = ['/queued', '/held'];
    const { collectors, up, error } = setup(paths, '', { scrapePool: { workers: 2, workerUrl: queuedWorker } }, '500ms');
    await collectors.scrapeAll();
    expect(up('/queued'), error('/queued')).toBe(1);
    expect(up('/held')).toBe(0);
    expect(error('/held')).toMatch(/timed out after 500ms/);
  });

  it.runIf(existsSync('/proc/self/task'))('runs the workers below the main thread\'s priority (nice 10)', async () => {
    const { collectors, up } = setup(['/a']);
    await collectors.scrapeAll();
    expect(up('/a')).toBe(1);
    const niceOf = (tid: string) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]);
    // The main thread is the one whose id is the pid: readdirSync sorts the ids as strings, so once
    // thread ids wrap past pid_max (or gain a digit) a worker thread can be listed first.
    const others = readdirSync('/proc/self/task').filter((t) => t !== String(process.pid));
    expect(others.map(niceOf)).toContain(10);
    expect(niceOf(String(process.pid))).toBe(0);
  });

  it('survives a worker that exits or runs out of memory, blaming only the target it was busy with', async () => {
    const paths = ['/crash', '/oom', '/a', '/b'];
    const { collectors, up, error } = setup(paths, '', { scrapePool: { workers: 1, heapMb: 32, graceMs: 5000, workerUrl: misbehaving } });
    await collectors.scrapeAll();
    expect(up('/crash')).toBe(0);
    expect(error('/crash')).toMatch(/exited|crashed/);
    expect(up('/oom')).toBe(0);
    expect(error('/oom')).toMatch(/ran out of memory: the target's scrape reached the worker's heap limit of 32 MiB/);
    expect(up('/a'), error('/a')).toBe(1);
    expect(up('/b'), error('/b')).toBe(1);
  });
});

describe('scrape limits stop the read as soon as they are crossed', () => {
  const spec = (path: string, over: Partial<TargetSpec> = {}): TargetSpec => ({
    url: `http://${address}${path}`,
    http: {},
    bodyLimit: 1 << 20,
    targetLabels: { job: 'x', instance: address },
    honorLabels: false,
    honorTimestamps: true,
    metricRelabelConfigs: [],
    sampleLimit: 1000,
    labelLimit: 0,
    labelNameLengthLimit: 0,
    labelValueLengthLimit: 0,
    ...over,
  });
  const scrape = (s: TargetSpec) => new TargetScraper(s).scrape(AbortSignal.timeout(20_000), 20_000);

  it('an endless body: body_size_limit', async () => {
    routes.set('/endless-body', endless('/endless-body', (i) => `# filler ${'x'.repeat(1000)} ${i}\n`));
    const out = await scrape(spec('/endless-body', { sampleLimit: 0 }));
    expect(out.error).toMatch(/body size limit exceeded \(limit 1048576 bytes\)/);
    expect(out.bytesRead).toBeLessThanOrEqual((1 << 20) + 65536);
    expect(out.batch.refs.length).toBe(0);
  });

  it('an endless stream of new series: sample_limit, after at most one batch of lines', async () => {
    routes.set('/endless-series', endless('/endless-series', (i) => `churn{id="${i}"} 1\n`));
    const out = await scrape(spec('/endless-series', { bodyLimit: 0 }));
    expect(out.error).toMatch(/sample limit exceeded \(limit 1000\)/);
    expect(out.bytesRead).toBeLessThan(3 << 20);
    // The server could not get much further than what was read (socket buffers).
    await new Promise((r) => setTimeout(r, 100));
    expect(written.get('/endless-series') ?? 0).toBeLessThan(64 << 20);
  });

  it('one endless line: the line length limit, not the whole body', async () => {
    routes.set('/endless-line', endless('/endless-line', () => 'a'.repeat(65536)));
    const out = await scrape(spec('/endless-line', { bodyLimit: 0, sampleLimit: 0 }));
    expect(out.error).toMatch(/line too long/);
    expect(out.bytesRead).toBeLessThan(3 << 20);
  });

  it('a gzip bomb: the limit counts decompressed bytes', async () => {
    const bomb = gzipSync(Buffer.alloc(64 << 20, '#'));
    routes.set('/bomb', (_req, res) => {
      res.setHeader('content-encoding', 'gzip');
      res.end(bomb);
    });
    const out = await scrape(spec('/bomb'));
    expect(out.error).toMatch(/body size limit exceeded/);
    expect(out.bytesRead).toBeLessThanOrEqual((1 << 20) + 65536);
  });
});

describe('hostile expositions fail cleanly and name the problem', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['/many-labels', `m{${Array.from({ length: 80 }, (_, i) => `l${i}="v"`).join(',')}} 1\n`, /label_limit exceeded/],
    ['/long-name', `m{${'n'.repeat(300)}="v"} 1\n`, /label_name_length_limit exceeded/],
    ['/long-value', `m{n="${'v'.repeat(5000)}"} 1\n`, /label_value_length_limit exceeded/],
    ['/bad-utf8', 'm{n="\xff\xfe"} 1\nm{n="\x00"} 2\nm{__proto__="x"} 3\n', /^$/],
    ['/garbage', '\x00\x01\x02 {{{ }}} \n', /line 1/],
    ['/dup', 'm 1\nm 2\n', /duplicate series/],
    ['/huge-number', `m ${'9'.repeat(5000)}\n`, /^$/],
  ];

  it('with the default limits', async () => {
    for (const [path, body] of cases) routes.set(path, (_req, res) => res.end(Buffer.from(body, 'latin1')));
    const paths = cases.map((c) => c[0]);
    const { collectors, up, error, storage } = setup(paths);
    await collectors.scrapeAll();
    for (const [path, , err] of cases) {
      expect(error(path), path).toMatch(err);
      expect(up(path), path).toBe(err.source === '^$' ? 1 : 0);
    }
    const proto = storage.querier().select([{ type: '=', name: '__proto__', value: 'x' }], -Infinity, Infinity);
    expect(proto).toHaveLength(1);
  });
});

describe('head series cap', () => {
  it('refuses a scrape whose new series would pass the cap, with a clear error and a metric', async () => {
    routes.set('/hundred', (_req, res) => res.end(Array.from({ length: 100 }, (_, i) => `s{i="${i}"} 1\n`).join('')));
    const { collectors, up, error, registry, storage } = setup(['/small', '/hundred'], '', { maxSeries: 60 });
    await collectors.scrapeAll();
    expect(up('/hundred')).toBe(0);
    expect(error('/hundred')).toMatch(/head series limit reached: \d+ series in the head, this scrape adds up to 100, limit 60/);
    expect(storage.querier().select([{ type: '=', name: '__name__', value: 's' }], -Infinity, Infinity)).toHaveLength(0);
    const metric = await registry.getSingleMetric('vigil_head_series_limit_reached_total')?.get();
    expect(metric?.values.find((v) => v.labels.job === 'j1')?.value).toBe(1);
    expect(up('/small')).toBe(1);
  });
});

describe('large scrapes arrive in parts appended while the worker parses', () => {
  it('stores every series, ends vanished ones, and stores nothing of a scrape that fails after parts arrived', async () => {
    let n = 50_000;
    routes.set('/big', (_req, res) => {
      const lines: string[] = [];
      for (let i = 0; i < n; i++) lines.push(`big{i="${i}"} ${i}`);
      res.end(lines.join('\n') + '\n');
    });
    const { collectors, up, storage, error } = setup(['/big'], ', sample_limit: 60000', {}, '30s');
    const big = () => storage.querier().select([{ type: '=', name: '__name__', value: 'big' }], -Infinity, Infinity);
    await collectors.scrapeAll();
    expect(up('/big'), error('/big')).toBe(1);
    expect(big()).toHaveLength(50_000);
    n = 30_000;
    await collectors.scrapeAll();
    const after = big();
    const stale = after.filter((s) => s.stale && s.stale[s.stale.length - 1] === 1);
    expect(stale).toHaveLength(20_000);
    expect(after.every((s) => s.v.length === 2)).toBe(true);
    // Past the sample limit after several parts were appended: the whole scrape is dropped.
    n = 70_000;
    await collectors.scrapeAll();
    expect(up('/big')).toBe(0);
    expect(error('/big')).toMatch(/sample limit exceeded \(limit 60000\)/);
    const failed = big();
    expect(failed).toHaveLength(50_000);
    // The 30k live series got their staleness marker, nothing else was added.
    const live = failed.filter((s) => Number(s.labels.i) < 30_000);
    expect(live.every((s) => s.v.length === 3 && s.stale?.[2] === 1)).toBe(true);
    expect(failed.filter((s) => Number(s.labels.i) >= 30_000).every((s) => s.v.length === 2)).toBe(true);
    n = 10;
    await collectors.scrapeAll();
    expect(up('/big')).toBe(1);
  });
});
