/**
 * The query API on a real listening server with the real engine: promtool's
 * query commands against it, `vigil query` against it and against the real
 * Prometheus, and hostile queries that must end in a clear error while the
 * server keeps answering.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as vigilQuery, type Io } from '../../src/cli/query.js';
import { createEngine } from '../../src/promql/index.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import { generateDataset, prometheusWith, type RunningPrometheus } from '../helpers/prometheus.js';
import { freePort } from '../helpers/net.js';
import { requireBinary } from '../helpers/services.js';
import { queryApiServer } from './prom-api-helpers.js';

const exec = promisify(execFile);
const promtool = requireBinary('promtool', 'prometheus');
const prometheus = requireBinary('prometheus', 'prometheus');

const START = 1_699_999_200_000 + 3_000;
const data = generateDataset({ start: START, samples: 240, instances: 2, seed: 3 });
// 15 minutes in: before the postgres/redis outage the generator puts at 24-36 minutes.
const T = (START + 15 * 60_000 + 7_500) / 1000;

let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  const storage = new MemoryStorage();
  for (const s of data) for (let i = 0; i < s.t.length; i++) storage.add(s.labels, s.t[i], s.v[i]);
  app = await queryApiServer({ engine: createEngine(storage), storage, limits: { maxSamples: 200_000, timeoutMs: 10_000 } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await app?.close();
});

function capture(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (s: string) => void (io.stdout += s + '\n'),
    err: (s: string) => void (io.stderr += s + '\n'),
  };
  return io;
}

describe.skipIf(!promtool)('promtool against the Vigil query API', () => {
  it('promtool query instant ... up', async () => {
    const { stdout } = await exec(promtool!, ['query', 'instant', `--time=${T}`, url, 'up']);
    expect(stdout).toContain(`up{instance="db:9187", job="postgres"} => 1 @[${T}]`);
    expect(stdout).toContain(`up{instance="cache:9121", job="redis"} => 1 @[${T}]`);
    expect(stdout.trim().split('\n')).toHaveLength(6);
  });

  it('promtool query instant with a documented rule, and -o json', async () => {
    const { stdout } = await exec(promtool!, ['query', 'instant', '-o', 'json', `--time=${T}`, url, 'sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))']);
    const parsed = JSON.parse(stdout) as Array<{ metric: object; value: [number, string] }>;
    expect(parsed).toHaveLength(1);
    expect(Number(parsed[0].value[1])).toBeGreaterThan(0);
  });

  it('promtool query range', async () => {
    const { stdout } = await exec(promtool!, ['query', 'range', `--start=${T - 600}`, `--end=${T}`, '--step=1m', url, 'up{job="redis"}']);
    expect(stdout).toContain('up{instance="cache:9121", job="redis"} =>');
    expect(stdout.match(/@\[/g)).toHaveLength(11);
  });

  it('promtool query series and labels', async () => {
    const series = await exec(promtool!, ['query', 'series', '--match=up{job=~"post.*"}', `--start=${T - 600}`, `--end=${T}`, url]);
    expect(series.stdout.trim()).toBe('{__name__="up", instance="db:9187", job="postgres"}');
    const labels = await exec(promtool!, ['query', 'labels', `--start=${T - 600}`, `--end=${T}`, url, 'job']);
    expect(labels.stdout.trim().split('\n')).toEqual(['nginx', 'postgres', 'prometheus', 'redis', 'sical-backend']);
  });

  it('promtool reports a parse error from the API', async () => {
    const err = await exec(promtool!, ['query', 'instant', url, 'sum(up']).catch((e: { stderr: string; code: number }) => e);
    expect((err as { code: number }).code).not.toBe(0);
    expect((err as { stderr: string }).stderr).toMatch(/bad_data|parse error/);
  });
});

describe('vigil query', () => {
  it('prints an instant vector as an aligned table', async () => {
    const io = capture();
    expect(await vigilQuery(['up{job=~"postgres|redis"}', '--server', url, '--time', String(T)], io)).toBe(0);
    const lines = io.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SERIES\s+VALUE$/);
    expect(lines).toHaveLength(3);
    // VALUE column aligned
    expect(new Set(lines.map((l) => l.lastIndexOf(' ') + 1)).size).toBe(1);
    expect(io.stdout).toContain('up{instance="db:9187", job="postgres"}');
  });

  it('prints a range query with times, and --json', async () => {
    const io = capture();
    const code = await vigilQuery(['up{job="redis"}', `--server=${url}`, '--start', String(T - 120), '--end', String(T), '--step', '1m'], io);
    expect(code).toBe(0);
    const lines = io.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SERIES\s+TIME\s+VALUE$/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^up\{instance="cache:9121", job="redis"\}\s+2023-11-14T\d\d:\d\d:\d\d\.500Z\s+1$/);
    const j = capture();
    expect(await vigilQuery(['sum(up)', '--server', url, '--time', String(T), '--json'], j)).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual({ resultType: 'vector', result: [{ metric: {}, value: [T, '6'] }] });
  });

  it('prints scalars', async () => {
    const io = capture();
    expect(await vigilQuery(['1 + 1', '--server', url, '--time', '2023-11-14T22:13:20Z'], io)).toBe(0);
    expect(io.stdout).toBe('VALUE  TIME\n2      2023-11-14T22:13:20Z\n');
  });

  it('reports API errors, unreachable servers and bad flags', async () => {
    const bad = capture();
    expect(await vigilQuery(['sum(up', '--server', url], bad)).toBe(1);
    expect(bad.stderr).toMatch(/^error \(bad_data\): invalid parameter "query": .*parse error/);
    const gone = capture();
    const closed = await freePort();
    expect(await vigilQuery(['up', '--server', `http://127.0.0.1:${closed}`], gone)).toBe(1);
    expect(gone.stderr).toBe(`cannot reach http://127.0.0.1:${closed}: ECONNREFUSED\n`);
    for (const args of [[], ['up', '--time', 'yesterday'], ['up', '--step', '1m'], ['up', '--start', 'now-1h', '--step', 'soon'], ['up', '--server', 'ftp://x'], ['up', '--bogus', '1'], ['a', 'b']]) {
      const io = capture();
      expect(await vigilQuery(args, io), JSON.stringify(args)).toBe(2);
      expect(io.stderr).toContain('usage: vigil query');
    }
  });
});

describe.skipIf(!prometheus || !promtool)('vigil query against the real Prometheus', () => {
  let prom: RunningPrometheus;
  beforeAll(async () => {
    prom = await prometheusWith(data, { prometheus: prometheus!, promtool: promtool! });
  }, 120_000);
  afterAll(async () => {
    await prom?.stop();
  });

  it('prints the same table as against Vigil', async () => {
    const a = capture();
    const b = capture();
    const expr = 'sum by (job) (up)';
    expect(await vigilQuery([expr, '--server', prom.url, '--time', String(T)], a)).toBe(0);
    expect(await vigilQuery([expr, '--server', url, '--time', String(T)], b)).toBe(0);
    const sorted = (s: string) => s.trim().split('\n').sort().join('\n');
    expect(sorted(a.stdout)).toBe(sorted(b.stdout));
  });
});

describe('hostile queries against the real engine', () => {
  const ask = async (path: string, body?: string) => {
    const res = await fetch(`${url}${path}`, body ? { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {});
    const json = (await res.json()) as { status: string; errorType?: string; error?: string };
    return { status: res.status, json };
  };
  const stillUp = async () => {
    const r = await ask(`/api/v1/query?query=up&time=${T}`);
    expect(r.status).toBe(200);
  };

  it.each([
    ['deep nesting', '('.repeat(300) + 'up' + ')'.repeat(300), 400, /levels of brackets deep/],
    ['deep unary nesting', '-'.repeat(20_000) + 'up', 0, /./],
    ['huge range selector', 'rate(http_requests_total[1000y])', 0, /./],
    ['subquery over a month at 1s', 'max_over_time(sum(http_requests_total)[30d:1s])', 0, /./],
    ['count_values explosion', 'count_values("v", http_requests_total)', 200, /./],
    ['regex bomb (answered in linear time)', 'up{job=~"(a+)+$"}', 200, /./],
    ['regex bomb in label_replace (answered in linear time)', 'label_replace(up, "x", "$1", "job", "(.*)*y")', 200, /./],
    ['lookahead', 'up{job=~"(?=a)"}', 400, /error parsing regexp: invalid or unsupported Perl syntax: `\(\?=`/],
    ['invalid regex', 'up{job=~"(("}', 400, /regex|regular expression|parse/i],
    ['unknown function', 'nope(up)', 400, /unknown function|parse error/],
    ['string garbage', '\u0000\u0001{{{', 400, /parse error|unexpected/],
  ])('%s gets a clear error or a bounded answer', async (_name, expr, status, msg) => {
    const r = await ask('/api/v1/query', `query=${encodeURIComponent(expr)}&time=${T}`);
    if (status) expect(r.status, JSON.stringify(r.json)).toBe(status);
    else expect([200, 400, 422, 503]).toContain(r.status);
    if (r.status !== 200) {
      expect(r.json.status).toBe('error');
      expect(r.json.error).toMatch(msg);
    }
    await stillUp();
  });

  it('range queries that would hold too many samples hit the limit', async () => {
    // Every series at every step: the limit is crossed after ~640 steps and ~20-50 ms of CPU. The
    // count_values(rate) query used before made a new series of nearly every sample and needed ~0.4 s
    // of CPU to reach the limit: at a load of 20 on 2 cores that took longer than the server's 10 s
    // query timeout, which then answered 503 first.
    const q = encodeURIComponent('{__name__=~".+"}');
    const r = await ask(`/api/v1/query_range?query=${q}&start=${T - 900}&end=${T + 2000}&step=0.5`);
    expect(r.status).toBe(422);
    expect(r.json.errorType).toBe('execution');
    await stillUp();
  });

  it('huge time ranges and steps are refused up front', async () => {
    const r = await ask(`/api/v1/query_range?query=up&start=0&end=${T}&step=1`);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/11,000 points/);
    await stillUp();
  });

  it('many parallel heavy queries all finish and the server stays up', async () => {
    const q = encodeURIComponent('histogram_quantile(0.99, sum by (le, endpoint) (rate(http_request_duration_seconds_bucket[5m])))');
    const results = await Promise.all(Array.from({ length: 30 }, () => ask(`/api/v1/query_range?query=${q}&start=${T - 1800}&end=${T}&step=15`)));
    for (const r of results) expect([200, 503]).toContain(r.status);
    await stillUp();
  });
});
