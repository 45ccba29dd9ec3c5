import Fastify, { type FastifyInstance } from 'fastify';
import { channel } from 'node:diagnostics_channel';
import { Agent, request } from 'node:http';
import { connect, constants } from 'node:http2';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiLogger, formatUptime, parseTraceparent, vigilInstrumentation, type HealthCheck } from '../../src/api/instrumentation/index.js';
import { parseExposition } from '../../src/collectors/exposition.js';
import { waitFor } from '../helpers/net.js';

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, logger: createApiLogger({ destination: stream }) };
}

async function app(opts: { checks?: HealthCheck[]; timeoutMs?: number } = {}) {
  const log = capture();
  const a = Fastify();
  const registry = new Registry();
  await a.register(vigilInstrumentation, { registry, healthChecks: opts.checks, healthCheckTimeoutMs: opts.timeoutMs, version: '1.2.3', logger: log.logger });
  a.get('/api/v1/plans/:id', async (req) => {
    a.apiMetrics.cacheMiss('plan');
    await a.apiMetrics.timeDbQuery('select', 'study_plans', async () => undefined);
    a.apiMetrics.businessEvent('plan_viewed', 'success');
    return { id: (req.params as { id: string }).id };
  });
  a.get('/boom', async () => {
    throw new Error('kaput');
  });
  let release!: () => void;
  a.get('/hold', () => new Promise((r) => (release = () => r({ ok: true }))));
  await a.ready();
  return { a, registry, log, release: () => release() };
}

/** Any instance, HTTP/1 or HTTP/2: the scrape is injected. */
async function scrape(a: { inject(url: string): PromiseLike<{ body: string }> }) {
  const res = await a.inject('/metrics');
  return parseExposition(res.body);
}

describe('instrumentation plugin', () => {
  const apps: Array<{ close(): PromiseLike<unknown> }> = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
  });

  it('exposes the documented metrics with their labels and buckets', async () => {
    const { a } = await app();
    apps.push(a);
    await a.inject('/api/v1/plans/42');
    await a.inject('/api/v1/plans/43');
    await a.inject('/no/such/route/1');
    await a.inject('/no/such/route/2');
    const { samples, metadata } = await scrape(a);
    const find = (name: string, labels: Record<string, string> = {}) =>
      samples.filter((s) => s.labels.__name__ === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

    expect(metadata.get('http_requests_total')?.type).toBe('counter');
    expect(find('http_requests_total', { method: 'GET', endpoint: '/api/v1/plans/:id', status: '200' })[0].value).toBe(2);
    // Raw paths never become label values.
    expect(find('http_requests_total').some((s) => s.labels.endpoint.includes('42'))).toBe(false);
    expect(find('http_requests_total', { endpoint: 'unmatched', status: '404' })[0].value).toBe(2);
    expect(Object.keys(find('http_requests_total')[0].labels).sort()).toEqual(['__name__', 'endpoint', 'method', 'status']);

    expect(metadata.get('http_request_duration_seconds')?.type).toBe('histogram');
    const buckets = find('http_request_duration_seconds_bucket', { endpoint: '/api/v1/plans/:id' }).map((s) => s.labels.le);
    expect(buckets).toEqual([...DEFAULT_BUCKETS.map(String), '+Inf']);
    expect(Object.keys(find('http_request_duration_seconds_count')[0].labels).sort()).toEqual(['__name__', 'endpoint', 'method']);

    expect(metadata.get('active_connections')?.type).toBe('gauge');
    const dbBuckets = find('db_query_duration_seconds_bucket', { operation: 'select', table: 'study_plans' }).map((s) => s.labels.le);
    expect(dbBuckets).toEqual(['0.001', '0.005', '0.01', '0.05', '0.1', '0.5', '1', '2', '5', '+Inf']);
    expect(find('cache_misses_total', { cache_type: 'plan' })[0].value).toBe(2);
    expect(find('cache_hits_total')).toEqual([]); // declared, no child yet
    expect(metadata.get('cache_hits_total')?.type).toBe('counter');
    expect(find('business_events_total', { event_type: 'plan_viewed', status: 'success' })[0].value).toBe(2);
    expect(find('process_resident_memory_bytes')).toHaveLength(1);
    expect(find('process_cpu_seconds_total')).toHaveLength(1);
  });

  it('counts in-flight requests in active_connections', async () => {
    const { a, release } = await app();
    apps.push(a);
    // Counted where the HTTP server receives them: requests go over loopback.
    const base = await a.listen({ port: 0, host: '127.0.0.1' });
    const active = async () => parseExposition(await (await fetch(`${base}/metrics`)).text()).samples.find((s) => s.labels.__name__ === 'active_connections')!.value;
    const pending = fetch(`${base}/hold`).then((r) => r.text());
    // The scrape itself is in flight while it renders.
    await waitFor(async () => ((await active()) === 2 ? true : undefined), 5000, 10);
    release();
    await pending;
    expect(await active()).toBe(1);
    // Injected requests never reach the server: they leave the gauge alone.
    await a.inject('/ready');
    expect(await active()).toBe(1);
  });

  it('writes request logs in the documented field layout, with trace context', async () => {
    const { a, log } = await app();
    apps.push(a);
    await a.inject({ url: '/api/v1/plans/7?x=1', headers: { 'user-agent': 'vitest', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
    await a.inject('/boom');
    await a.inject('/metrics'); // quiet
    await new Promise((r) => setTimeout(r, 20));
    expect(log.lines).toHaveLength(2);
    const ok = log.lines[0];
    expect(ok).toMatchObject({ level: 'info', logger: 'http', message: 'request', method: 'GET', path: '/api/v1/plans/7', status: 200, user_agent: 'vitest', client_ip: '127.0.0.1', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' });
    expect(new Date(ok.timestamp as string).toISOString()).toBe(ok.timestamp);
    expect(typeof ok.latency).toBe('number');
    const bad = log.lines[1];
    expect(bad).toMatchObject({ level: 'error', status: 500, error: 'kaput', path: '/boom', method: 'GET' });
    expect(String(bad.stacktrace)).toMatch(/kaput/);
    expect(bad.trace_id).toBeUndefined();
  });

  it('answers /health with the contract: 200 healthy, 503 naming the failed dependency, per-check timeout', async () => {
    const healthy = await app({ checks: [{ name: 'database', check: async () => undefined }, { name: 'redis', check: async () => undefined }] });
    apps.push(healthy.a);
    const ok = await healthy.a.inject('/health');
    expect(ok.statusCode).toBe(200);
    const body = ok.json();
    expect(body).toMatchObject({ status: 'healthy', services: { database: 'healthy', redis: 'healthy' }, version: '1.2.3' });
    expect(Object.keys(body).sort()).toEqual(['services', 'status', 'timestamp', 'uptime', 'version']);

    const sick = await app({
      timeoutMs: 100,
      checks: [
        { name: 'database', check: async () => Promise.reject(new Error('connection refused\nsecond line')) },
        { name: 'redis', check: () => new Promise(() => undefined) },
      ],
    });
    apps.push(sick.a);
    const t0 = Date.now();
    const bad = await sick.a.inject('/health');
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(bad.statusCode).toBe(503);
    expect(bad.json()).toMatchObject({ status: 'unhealthy', services: { database: 'unhealthy: connection refused', redis: 'unhealthy: timed out after 100ms' } });

    const ready = await sick.a.inject('/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready' });
  });

  it('labels and times requests that an earlier hook answers, over the wire and injected', async () => {
    const log = capture();
    const a = Fastify();
    apps.push(a);
    const registry = new Registry();
    await a.register(vigilInstrumentation, { registry, defaultMetrics: false, logger: log.logger });
    // An application hook after the plugin's: it answers before the route's own hooks run.
    a.addHook('onRequest', (req, reply, done) => {
      if (req.headers.authorization === undefined) reply.code(401).send({ error: 'unauthorized' });
      else done();
    });
    a.get('/api/v1/plans/:id', async () => ({ ok: true }));
    await a.ready();
    const base = await a.listen({ port: 0, host: '127.0.0.1' });
    expect((await fetch(`${base}/api/v1/plans/1`)).status).toBe(401);
    expect((await fetch(`${base}/api/v1/plans/2`, { headers: { authorization: 'x' } })).status).toBe(200);
    expect((await fetch(`${base}/nope`, { headers: { authorization: 'x' } })).status).toBe(404);
    expect((await a.inject({ url: '/api/v1/plans/3' })).statusCode).toBe(401);
    expect((await a.inject({ url: '/api/v1/plans/4', headers: { authorization: 'x' } })).statusCode).toBe(200);
    const { samples } = parseExposition((await a.inject({ url: '/metrics', headers: { authorization: 'x' } })).body);
    const count = (labels: Record<string, string>) =>
      samples.find((s) => s.labels.__name__ === 'http_requests_total' && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(count({ endpoint: '/api/v1/plans/:id', status: '401' })).toBe(2);
    expect(count({ endpoint: '/api/v1/plans/:id', status: '200' })).toBe(2);
    expect(count({ endpoint: 'unmatched', status: '404' })).toBe(1);
    const durations = samples.find((s) => s.labels.__name__ === 'http_request_duration_seconds_count' && s.labels.endpoint === '/api/v1/plans/:id');
    expect(durations?.value).toBe(4);
    expect(samples.find((s) => s.labels.__name__ === 'active_connections')?.value).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(log.lines.map((l) => [l.status, l.path, l.level])).toEqual([
      [401, '/api/v1/plans/1', 'warn'],
      [200, '/api/v1/plans/2', 'info'],
      [404, '/nope', 'warn'],
      [401, '/api/v1/plans/3', 'warn'],
      [200, '/api/v1/plans/4', 'info'],
    ]);
    expect(log.lines.every((l) => typeof l.latency === 'number' && (l.latency as number) >= 0 && (l.latency as number) < 5)).toBe(true);
  });

  it('keeps each instance to its own server over the wire, and stops watching responses on close', async () => {
    const first = await app();
    const second = await app();
    apps.push(second.a);
    const one = await first.a.listen({ port: 0, host: '127.0.0.1' });
    const two = await second.a.listen({ port: 0, host: '127.0.0.1' });
    expect(channel('http.server.response.finish').hasSubscribers).toBe(true);
    expect((await fetch(`${one}/api/v1/plans/1`)).status).toBe(200);
    expect((await fetch(`${one}/boom`)).status).toBe(500);
    expect((await fetch(`${one}/no/such/route`)).status).toBe(404);
    expect((await fetch(`${two}/api/v1/plans/2`)).status).toBe(200);
    const count = async (a: FastifyInstance, labels: Record<string, string>) =>
      (await scrape(a)).samples.find((s) => s.labels.__name__ === 'http_requests_total' && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(await count(first.a, { endpoint: '/api/v1/plans/:id', status: '200' })).toBe(1);
    expect(await count(first.a, { endpoint: '/boom', status: '500' })).toBe(1);
    expect(await count(first.a, { endpoint: 'unmatched', status: '404' })).toBe(1);
    expect(await count(second.a, { endpoint: '/api/v1/plans/:id', status: '200' })).toBe(1);
    expect(await count(second.a, { endpoint: '/boom' })).toBeUndefined();
    await new Promise((r) => setTimeout(r, 20));
    expect(first.log.lines.map((l) => [l.status, l.path, l.level, l.error])).toEqual([
      [200, '/api/v1/plans/1', 'info', undefined],
      [500, '/boom', 'error', 'kaput'],
      [404, '/no/such/route', 'warn', undefined],
    ]);
    expect(second.log.lines.map((l) => l.path)).toEqual(['/api/v1/plans/2']);

    await first.a.close();
    expect((await fetch(`${two}/api/v1/plans/3`)).status).toBe(200);
    expect(await count(second.a, { endpoint: '/api/v1/plans/:id', status: '200' })).toBe(2);
    await second.a.close();
    apps.splice(0);
    expect(channel('http.server.response.finish').hasSubscribers).toBe(false);
  });

  it('survives a request log that throws: the request is still counted', async () => {
    const a = Fastify();
    apps.push(a);
    const fail = () => {
      throw new Error('log down');
    };
    await a.register(vigilInstrumentation, { registry: new Registry(), defaultMetrics: false, logger: { info: fail, warn: fail, error: fail, request: fail } as never });
    a.get('/api/v1/plans/:id', async () => ({ ok: true }));
    const base = await a.listen({ port: 0, host: '127.0.0.1' });
    expect((await fetch(`${base}/api/v1/plans/1`)).status).toBe(200);
    expect((await a.inject('/api/v1/plans/2')).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    const { samples } = await scrape(a);
    expect(samples.find((s) => s.labels.__name__ === 'http_requests_total' && s.labels.endpoint === '/api/v1/plans/:id')?.value).toBe(2);
  });

  it('does not count a request whose client went away before the answer, and takes it out of active_connections', async () => {
    const { a, release } = await app();
    apps.push(a);
    const base = await a.listen({ port: 0, host: '127.0.0.1' });
    const client = request(`${base}/hold`);
    client.on('error', () => undefined);
    client.end();
    await waitFor(async () => ((await scrape(a)).samples.some((s) => s.labels.__name__ === 'active_connections' && s.value === 1) ? true : undefined), 5000, 10);
    client.destroy();
    // The connection's close takes its unanswered request out of flight, before the handler ends.
    await waitFor(async () => ((await scrape(a)).samples.some((s) => s.labels.__name__ === 'active_connections' && s.value === 0) ? true : undefined), 5000, 10);
    release();
    await new Promise((r) => setTimeout(r, 50));
    const after = (await scrape(a)).samples;
    expect(after.filter((s) => s.labels.__name__ === 'http_requests_total' && s.labels.endpoint === '/hold')).toEqual([]);
    // The handler's late answer to a closed connection does not take it below zero.
    expect(after.find((s) => s.labels.__name__ === 'active_connections')?.value).toBe(0);
  });

  it('keeps active_connections at zero when kept-alive connections close after their answers', async () => {
    const { a } = await app();
    apps.push(a);
    const base = await a.listen({ port: 0, host: '127.0.0.1' });
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    const get = (path: string) =>
      new Promise<void>((resolve, reject) => {
        request(`${base}${path}`, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject).end();
      });
    await Promise.all([get('/api/v1/plans/1'), get('/api/v1/plans/2'), get('/api/v1/plans/3'), get('/boom')]);
    agent.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const { samples } = await scrape(a);
    expect(samples.find((s) => s.labels.__name__ === 'active_connections')?.value).toBe(0);
    expect(samples.filter((s) => s.labels.__name__ === 'http_requests_total').reduce((n, s) => n + s.value, 0)).toBe(4);
  });

  it('counts HTTP/2 requests in flight until their stream closes, answered or reset', async () => {
    const a = Fastify({ http2: true });
    apps.push(a);
    await a.register(vigilInstrumentation, { registry: new Registry(), defaultMetrics: false, logger: false });
    let release!: () => void;
    a.get('/hold', () => new Promise((r) => (release = () => r({ ok: true }))));
    a.get('/ok', async () => ({ ok: true }));
    const base = await a.listen({ port: 0, host: '127.0.0.1' });
    const session = connect(base);
    try {
      const inFlight = async () => (await scrape(a)).samples.find((s) => s.labels.__name__ === 'active_connections')?.value;
      const ok = session.request({ ':path': '/ok' });
      ok.resume();
      await new Promise((r) => ok.on('end', r));
      const held = session.request({ ':path': '/hold' });
      held.on('error', () => undefined);
      await waitFor(async () => ((await inFlight()) === 1 ? true : undefined), 5000, 10);
      held.close(constants.NGHTTP2_CANCEL);
      await waitFor(async () => ((await inFlight()) === 0 ? true : undefined), 5000, 10);
      release();
      await new Promise((r) => setTimeout(r, 50));
      expect(await inFlight()).toBe(0);
    } finally {
      session.close();
    }
  });

  it('parses only well-formed traceparent headers and formats uptime like Go', () => {
    expect(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeUndefined();
    expect(parseTraceparent('garbage')).toBeUndefined();
    expect(parseTraceparent(['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'])).toEqual({ trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' });
    expect(formatUptime(3_723_500)).toBe('1h2m3.5s');
    expect(formatUptime(4200)).toBe('4.2s');
  });
});
