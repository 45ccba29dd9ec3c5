import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatFloat } from '../../src/model/strconv.js';
import { parseSeriesSelector } from '../../src/api/prom-api/selector.js';
import { PromQLError, type QueryEngine, type QueryOptions, type QueryResult } from '../../src/promql/types.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import { queryApiServer } from './prom-api-helpers.js';

/** An engine whose answers depend on the expression, recording what it was asked. */
function fakeEngine() {
  const calls: Array<{ expr: string; t?: number; start?: number; end?: number; step?: number; opts?: QueryOptions }> = [];
  const answer = (expr: string, t: number, opts?: QueryOptions): Promise<QueryResult> => {
    switch (expr) {
      case 'up':
        return Promise.resolve({ value: { resultType: 'vector', result: [{ labels: { __name__: 'up', job: 'redis' }, t, v: 1 }] }, warnings: [], infos: [] });
      case 'special':
        return Promise.resolve({
          value: {
            resultType: 'vector',
            result: [NaN, Infinity, -Infinity, 1e21, 1e-7, -0, 0.1 + 0.2].map((v, i) => ({ labels: { i: String(i) }, t, v })),
          },
          warnings: ['PromQL warning: something odd'],
          infos: ['PromQL info: fyi'],
        });
      case '1':
        return Promise.resolve({ value: { resultType: 'scalar', t, v: 1 }, warnings: [], infos: [] });
      case '"s"':
        return Promise.resolve({ value: { resultType: 'string', t, v: 'a"b' }, warnings: [], infos: [] });
      case 'slow':
        return new Promise((_, reject) => opts?.signal?.addEventListener('abort', () => reject(new PromQLError('canceled', 'aborted'))));
      case 'bad(':
        return Promise.reject(new PromQLError('bad_data', '1:5: parse error: unclosed left parenthesis', 4));
      case 'many_to_many':
        return Promise.reject(new PromQLError('execution', 'found duplicate series for the match group'));
      case 'samples':
        return Promise.reject(new PromQLError('too_many_samples', 'query processing would load too many samples into memory in query execution'));
      case 'engine_timeout':
        return Promise.reject(new PromQLError('timeout', 'query timed out in expression evaluation'));
      case 'bug':
        return Promise.reject(new TypeError('cannot read properties of undefined'));
      default:
        return Promise.resolve({ value: { resultType: 'vector', result: [] }, warnings: [], infos: [] });
    }
  };
  const engine: QueryEngine = {
    instantQuery: (expr, t, opts) => {
      calls.push({ expr, t, opts });
      return answer(expr, t, opts);
    },
    rangeQuery: async (expr, start, end, step, opts) => {
      calls.push({ expr, start, end, step, opts });
      if (expr !== 'up') return answer(expr, start, opts);
      const t: number[] = [];
      const v: number[] = [];
      for (let x = start; x <= end; x += step) {
        t.push(x);
        v.push(x / 1000);
      }
      return { value: { resultType: 'matrix', result: [{ labels: { __name__: 'up', job: 'redis' }, t, v }] }, warnings: [], infos: [] };
    },
  };
  return { engine, calls };
}

const NOW = 1_700_000_000_000;

describe('Prometheus query API', () => {
  let app: FastifyInstance;
  const { engine, calls } = fakeEngine();
  const storage = new MemoryStorage();

  beforeAll(async () => {
    for (const [job, inst] of [
      ['redis', 'r:9121'],
      ['postgres', 'p:9187'],
    ]) {
      for (let t = 0; t < 10; t++) storage.add({ __name__: 'up', job, instance: inst }, NOW - 600_000 + t * 15_000, 1);
    }
    storage.add({ __name__: 'http_requests_total', method: 'GET', endpoint: '/api/plans', status: '200' }, NOW - 60_000, 5);
    storage.add({ __name__: 'old_metric', 'utf8.label': 'x' }, 1000, 1);
    app = await queryApiServer({
      engine,
      storage,
      now: () => NOW,
      limits: { maxSamples: 1234, timeoutMs: 5000 },
      metadata: () => ({ up: [{ type: 'gauge', help: 'target up', unit: '' }], other: [{ type: 'counter', help: 'x', unit: '' }] }),
      flags: () => ({ 'query.max-samples': '1234' }),
    });
  });
  afterAll(async () => {
    await app.close();
  });

  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.json() as any, type: res.headers['content-type'] };
  };
  const post = async (url: string, form: string) => {
    const res = await app.inject({ method: 'POST', url, payload: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    return { status: res.statusCode, body: res.json() as any };
  };

  describe('/api/v1/query', () => {
    it('answers an instant vector in Prometheus shape, time in unix seconds', async () => {
      const r = await get('/api/v1/query?query=up&time=1700000000.5');
      expect(r.status).toBe(200);
      expect(r.type).toMatch(/application\/json/);
      expect(r.body).toEqual({
        status: 'success',
        data: { resultType: 'vector', result: [{ metric: { __name__: 'up', job: 'redis' }, value: [1700000000.5, '1'] }] },
      });
      expect(calls.at(-1)!.t).toBe(1_700_000_000_500);
      expect(calls.at(-1)!.opts!.maxSamples).toBe(1234);
    });

    it('accepts RFC 3339 times and defaults to now', async () => {
      await get('/api/v1/query?query=up&time=2023-11-14T22:13:20.250Z');
      expect(calls.at(-1)!.t).toBe(Date.UTC(2023, 10, 14, 22, 13, 20, 250));
      await get('/api/v1/query?query=up&time=2023-11-14T23:13:20%2B01:00');
      expect(calls.at(-1)!.t).toBe(Date.UTC(2023, 10, 14, 22, 13, 20));
      await get('/api/v1/query?query=up');
      expect(calls.at(-1)!.t).toBe(NOW);
    });

    it('clamps huge unix times and accepts Go min/max time as sent by promtool', async () => {
      await get('/api/v1/query?query=up&time=-9223309901257974');
      expect(calls.at(-1)!.t).toBe(-8_640_000_000_000_000);
      await get('/api/v1/query?query=up&time=292277026596-12-04T15:30:07.999999999Z');
      expect(calls.at(-1)!.t).toBe(8_640_000_000_000_000);
    });

    it('accepts POST form bodies', async () => {
      const r = await post('/api/v1/query', 'query=up&time=1700000001');
      expect(r.status).toBe(200);
      expect(r.body.data.result[0].value).toEqual([1700000001, '1']);
    });

    it('formats special floats as Prometheus does and passes warnings and infos', async () => {
      const r = await get('/api/v1/query?query=special&time=1');
      expect(r.body.data.result.map((s: any) => s.value[1])).toEqual(['NaN', '+Inf', '-Inf', '1000000000000000000000', '0.0000001', '-0', '0.30000000000000004']);
      expect(r.body.warnings).toEqual(['PromQL warning: something odd']);
      expect(r.body.infos).toEqual(['PromQL info: fyi']);
    });

    it('answers scalars and strings', async () => {
      expect((await get('/api/v1/query?query=1&time=2')).body.data).toEqual({ resultType: 'scalar', result: [2, '1'] });
      expect((await get('/api/v1/query?query=%22s%22&time=2')).body.data).toEqual({ resultType: 'string', result: [2, 'a"b'] });
    });

    it.each([
      ['bad(', 400, 'bad_data', 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis'],
      ['many_to_many', 422, 'execution', 'found duplicate series for the match group'],
      ['samples', 422, 'execution', 'query processing would load too many samples into memory in query execution'],
      ['engine_timeout', 503, 'timeout', 'query timed out in expression evaluation'],
      ['bug', 500, 'internal', 'cannot read properties of undefined'],
    ])('maps engine error of %s to status %d %s', async (q, status, type, message) => {
      const r = await get(`/api/v1/query?query=${encodeURIComponent(q)}`);
      expect(r.status).toBe(status);
      expect(r.body).toEqual({ status: 'error', errorType: type, error: message });
    });

    it.each([
      ['time=abc', 'invalid parameter "time": cannot parse "abc" to a valid timestamp'],
      ['time=NaN', 'invalid parameter "time": cannot parse "NaN" to a valid timestamp'],
      ['time=1e400', 'invalid parameter "time": cannot parse "1e400" to a valid timestamp'],
      ['time=Inf', 'invalid parameter "time": cannot parse "Inf" to a valid timestamp'],
      ['time=2023-13-45', 'invalid parameter "time": cannot parse "2023-13-45" to a valid timestamp'],
      ['timeout=soon', 'invalid parameter "timeout": cannot parse "soon" to a valid duration'],
      ['timeout=-1', 'invalid parameter "timeout": timeout must be positive'],
    ])('rejects %s with bad_data', async (param, message) => {
      const r = await get(`/api/v1/query?query=up&${param}`);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ status: 'error', errorType: 'bad_data', error: message });
    });

    it('times out a query after the requested timeout with 503 and stays up', async () => {
      const r = await get('/api/v1/query?query=slow&timeout=0.2');
      expect(r.status).toBe(503);
      expect(r.body.errorType).toBe('timeout');
      expect(calls.at(-1)!.opts!.timeoutMs).toBe(200);
      expect(calls.at(-1)!.opts!.signal!.aborted).toBe(true);
      expect((await get('/api/v1/query?query=up')).status).toBe(200);
    });

    it('never lets the timeout parameter exceed the server limit', async () => {
      await get('/api/v1/query?query=up&timeout=1h');
      expect(calls.at(-1)!.opts!.timeoutMs).toBe(5000);
    });
  });

  describe('/api/v1/query_range', () => {
    it('answers a matrix; step as float seconds or duration', async () => {
      for (const step of ['15', '15s', '15000ms', '0.15e2', '1.5e1']) {
        const r = await get(`/api/v1/query_range?query=up&start=1700000000&end=1700000030&step=${step}`);
        expect(r.status).toBe(200);
        expect(r.body.data).toEqual({
          resultType: 'matrix',
          result: [
            {
              metric: { __name__: 'up', job: 'redis' },
              values: [
                [1700000000, '1700000000'],
                [1700000015, '1700000015'],
                [1700000030, '1700000030'],
              ],
            },
          ],
        });
        expect(calls.at(-1)!.step).toBe(15_000);
      }
    });

    it('accepts POST', async () => {
      const r = await post('/api/v1/query_range', 'query=up&start=2023-11-14T22:13:20Z&end=2023-11-14T22:14:20Z&step=30s');
      expect(r.status).toBe(200);
      expect(r.body.data.result[0].values).toHaveLength(3);
    });

    it.each([
      ['start=1&end=2', 'invalid parameter "step": cannot parse "" to a valid duration'],
      ['end=2&step=1', 'invalid parameter "start": cannot parse "" to a valid timestamp'],
      ['start=1&step=1', 'invalid parameter "end": cannot parse "" to a valid timestamp'],
      ['start=10&end=2&step=1', 'invalid parameter "end": end timestamp must not be before start time'],
      ['start=1&end=2&step=0', 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer'],
      ['start=1&end=2&step=-5s', 'invalid parameter "step": cannot parse "-5s" to a valid duration'],
      ['start=1&end=2&step=1e400', 'invalid parameter "step": cannot parse "1e400" to a valid duration'],
      ['start=0&end=86400&step=1', 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)'],
      ['start=0&end=100000000000&step=1', 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)'],
    ])('rejects %s with bad_data', async (params, message) => {
      const r = await get(`/api/v1/query_range?query=up&${params}`);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ status: 'error', errorType: 'bad_data', error: message });
    });
  });

  describe('metadata endpoints', () => {
    it('lists series for several match[] (GET and repeated POST keys), sorted and deduplicated', async () => {
      const want = [
        { __name__: 'up', instance: 'p:9187', job: 'postgres' },
        { __name__: 'up', instance: 'r:9121', job: 'redis' },
      ];
      const g = await get('/api/v1/series?match[]=up{job="postgres"}&match[]=up&start=1699999000');
      expect(g.status).toBe(200);
      expect(g.body).toEqual({ status: 'success', data: want });
      const p = await post('/api/v1/series', `match[]=${encodeURIComponent('up{job="redis"}')}&match[]=${encodeURIComponent('{job=~"post.*"}')}`);
      expect(p.body.data).toEqual(want);
    });

    it('applies limit with a warning', async () => {
      const r = await get('/api/v1/series?match[]=up&limit=1');
      expect(r.body.data).toHaveLength(1);
      expect(r.body.warnings).toEqual(['results truncated due to limit']);
    });

    it('filters series by time range', async () => {
      const r = await get(`/api/v1/series?match[]=${encodeURIComponent('{__name__=~".+"}')}&start=0&end=2`);
      expect(r.body.data).toEqual([{ __name__: 'old_metric', 'utf8.label': 'x' }]);
    });

    it.each([
      ['', 'invalid parameter "match[]": no match[] parameter provided'],
      ['match[]=up{', 'invalid parameter "match[]": 1:4: parse error: unexpected end of input inside braces'],
      ['match[]={job=""}', 'invalid parameter "match[]": 1:1: parse error: vector selector must contain at least one non-empty matcher'],
      ['match[]={job=~".*"}', 'invalid parameter "match[]": 1:1: parse error: vector selector must contain at least one non-empty matcher'],
      ['match[]=up{job="x\\q"}', 'invalid parameter "match[]": 1:10: parse error: unknown escape sequence \\q'],
      ['match[]=up{job=~"("}', 'invalid parameter "match[]": 1:4: parse error: error parsing regexp: missing closing ): `^(?:()$`'],
      ['match[]=up{job=~"(?=x)"}', 'invalid parameter "match[]": 1:4: parse error: error parsing regexp: invalid or unsupported Perl syntax: `(?=`'],
      ['match[]=up&start=x', 'invalid parameter "start": cannot parse "x" to a valid timestamp'],
      ['match[]=up&limit=-1', 'invalid parameter "limit": cannot parse "-1" to a valid limit: must be a non-negative integer'],
    ])('rejects series?%s', async (params, message) => {
      const r = await get(`/api/v1/series?${params}`);
      expect(r.status).toBe(400);
      expect(r.body.errorType).toBe('bad_data');
      expect(r.body.error.startsWith(message)).toBe(true);
    });

    it('lists label names, optionally filtered by match[]', async () => {
      expect((await get('/api/v1/labels')).body.data).toEqual(['__name__', 'endpoint', 'instance', 'job', 'method', 'status', 'utf8.label']);
      expect((await get('/api/v1/labels?match[]=up')).body.data).toEqual(['__name__', 'instance', 'job']);
      expect((await post('/api/v1/labels', 'match[]=old_metric')).body.data).toEqual(['__name__', 'utf8.label']);
    });

    it('lists label values, including __name__ and U__-escaped UTF-8 names', async () => {
      expect((await get('/api/v1/label/job/values')).body.data).toEqual(['postgres', 'redis']);
      expect((await get('/api/v1/label/__name__/values')).body.data).toEqual(['http_requests_total', 'old_metric', 'up']);
      expect((await get('/api/v1/label/job/values?match[]=up{instance="r:9121"}')).body.data).toEqual(['redis']);
      expect((await get('/api/v1/label/U__utf8_2e_label/values')).body.data).toEqual(['x']);
      expect((await get('/api/v1/label/nope/values')).body.data).toEqual([]);
    });

    it('serves metadata from the callback with limits', async () => {
      expect((await get('/api/v1/metadata')).body.data).toEqual({
        up: [{ type: 'gauge', help: 'target up', unit: '' }],
        other: [{ type: 'counter', help: 'x', unit: '' }],
      });
      expect(Object.keys((await get('/api/v1/metadata?limit=1')).body.data)).toEqual(['up']);
      expect(Object.keys((await get('/api/v1/metadata?metric=other')).body.data)).toEqual(['other']);
    });

    it('serves status endpoints Grafana probes', async () => {
      const b = await get('/api/v1/status/buildinfo');
      expect(b.body.status).toBe('success');
      expect(b.body.data).toMatchObject({ version: '3.0.0', branch: 'vigil' });
      const rt = await get('/api/v1/status/runtimeinfo');
      expect(rt.body.data.startTime).toBe(new Date(NOW).toISOString());
      expect((await get('/api/v1/status/flags')).body.data).toEqual({ 'query.max-samples': '1234' });
      expect((await get('/api/v1/query_exemplars?query=up&start=1&end=2')).body).toEqual({ status: 'success', data: [] });
    });
  });

  describe('hostile input', () => {
    it('rejects deep nesting before it reaches the engine', async () => {
      const q = '('.repeat(5000) + 'up' + ')'.repeat(5000);
      const r = await post('/api/v1/query', `query=${encodeURIComponent(q)}`);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(/nests 5000 levels of brackets deep; the limit is 200/);
    });

    it('rejects query text over the length limit', async () => {
      const q = 'up or '.repeat(50_000) + 'up';
      const r = await post('/api/v1/query', `query=${encodeURIComponent(q)}`);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(/characters long; the limit is 262144/);
    });

    it('answers regexes that would backtrack exponentially elsewhere, in match[]', async () => {
      const bomb = encodeURIComponent(`{job=~"(a+)+$", x="${'a'.repeat(30)}"}`);
      const r = await get(`/api/v1/series?match[]=${bomb}`);
      expect(r.status).toBe(200);
      expect(r.body.data).toEqual([]);
    });

    it('refuses bodies over the server limit with a JSON error', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/query',
        payload: 'query=' + 'a'.repeat(2 * 1024 * 1024),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(res.statusCode).toBe(413);
      expect(res.json()).toMatchObject({ status: 'error' });
    });

    it('answers garbage with 4xx JSON and stays up', async () => {
      const cases = [
        '/api/v1/query?query[]=up&query[x]=1',
        '/api/v1/query?query=%00%ff%fe&time=%00',
        '/api/v1/query_range?query=up&start=1&end=2&step=%F0%9F%92%A5',
        '/api/v1/series?match[]=%7B%22',
        '/api/v1/label/%ff/values',
        '/api/v1/query?time=1&time=2&query=up&query=down',
      ];
      for (const url of cases) {
        const res = await app.inject({ method: 'GET', url });
        expect(res.statusCode, url).toBeLessThan(500);
        expect(() => res.json(), url).not.toThrow();
      }
      const odd = await app.inject({ method: 'POST', url: '/api/v1/query', payload: '{"query":"up"}', headers: { 'content-type': 'application/json' } });
      expect(odd.statusCode).toBe(200); // a JSON body has no form params; the query text is empty, which the engine rejects or answers
      const weird = await app.inject({ method: 'POST', url: '/api/v1/query', payload: 'x', headers: { 'content-type': 'text/xml' } });
      expect(weird.statusCode).toBe(415);
      expect(weird.json().status).toBe('error');
      expect((await get('/api/v1/query?query=up')).status).toBe(200);
    });
  });
});

describe('bounded concurrency', () => {
  it('queues up to the limit and refuses the rest with 503 unavailable', async () => {
    const { engine } = fakeEngine();
    const app = await queryApiServer({ engine, storage: new MemoryStorage(), limits: { maxConcurrent: 1, maxQueued: 1, timeoutMs: 500 } });
    try {
      const results = await Promise.all([1, 2, 3].map(() => app.inject({ method: 'GET', url: '/api/v1/query?query=slow' })));
      const byType = results.map((r) => r.json().errorType).sort();
      expect(byType).toEqual(['timeout', 'timeout', 'unavailable']);
      expect(results.find((r) => r.json().errorType === 'unavailable')!.statusCode).toBe(503);
    } finally {
      await app.close();
    }
  });
});

describe('formatFloat', () => {
  it.each([
    [1, '1'],
    [-2.5, '-2.5'],
    [1e21, '1000000000000000000000'],
    [1.5e-10, '0.00000000015'],
    [-1.234e25, '-12340000000000000000000000'],
    [Number.MAX_VALUE, '1797693134862315' + '7'.padEnd(293, '0')],
    [5e-324, '0.' + '0'.repeat(323) + '5'],
  ])('formats %d as %s', (v, s) => {
    expect(formatFloat(v)).toBe(s);
  });
});

describe('parseSeriesSelector', () => {
  it('parses names, every matcher type, quoting and UTF-8 names', () => {
    expect(parseSeriesSelector(`up{job="a",b!='c', c=~"x.*" ,d!~\`y\`,}`)).toEqual([
      { type: '=', name: '__name__', value: 'up' },
      { type: '=', name: 'job', value: 'a' },
      { type: '!=', name: 'b', value: 'c' },
      { type: '=~', name: 'c', value: 'x.*' },
      { type: '!~', name: 'd', value: 'y' },
    ]);
    expect(parseSeriesSelector('{"my.metric", "a.b"="\\u00e9\\n"}')).toEqual([
      { type: '=', name: '__name__', value: 'my.metric' },
      { type: '=', name: 'a.b', value: 'é\n' },
    ]);
  });
  it.each(['', 'up{job}', 'up{job=x}', 'up{job="x"', 'up extra', '{}', 'a{__name__="b"}x', '{"unterminated}'])('rejects %j', (s) => {
    expect(() => parseSeriesSelector(s)).toThrow(/parse error/);
  });
});
