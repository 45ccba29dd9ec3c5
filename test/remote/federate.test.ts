import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { federateRoute } from '../../src/remote/federate.js';
import { MemoryStorage } from '../../src/tsdb/index.js';

const NOW = 1_700_000_000_000;

async function app(storage: MemoryStorage | undefined, externalLabels: Record<string, string> = {}) {
  const a = Fastify();
  await a.register(federateRoute({ storage, externalLabels, now: () => NOW }));
  return a;
}

async function fill(): Promise<MemoryStorage> {
  const s = new MemoryStorage();
  const ap = s.appender();
  ap.append({ __name__: 'b_metric', job: 'x', instance: 'h:1' }, NOW - 10_000, 2);
  ap.append({ __name__: 'a_metric', job: 'x', env: 'prod' }, NOW - 20_000, 1e21);
  ap.append({ __name__: 'a_metric', job: 'x', env: 'dev' }, NOW - 20_000, 0.1);
  ap.append({ __name__: 'a_metric', job: 'x', env: 'dev' }, NOW - 5_000, 0.5);
  ap.append({ __name__: 'old', job: 'x' }, NOW - 10 * 60_000, 3);
  ap.append({ __name__: 'gone', job: 'x' }, NOW - 20_000, 3);
  ap.appendStale({ __name__: 'gone', job: 'x' }, NOW - 10_000);
  ap.append({ __name__: 'c', job: 'y', quote: 'a"b\\c\nd' }, NOW - 1000, Number.POSITIVE_INFINITY);
  await ap.commit();
  return s;
}

describe('/federate', () => {
  it('answers the latest sample per series like Prometheus: untyped families by name, external labels, instance="" when absent, stale and old series left out', async () => {
    const a = await app(await fill(), { cluster: 'c1', env: 'ignored' });
    const res = await a.inject({ method: 'GET', url: '/federate?match[]={job="x"}&match[]=c' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.body).toBe(
      [
        '# TYPE a_metric untyped',
        `a_metric{env="dev",job="x",cluster="c1",instance=""} 0.5 ${NOW - 5000}`,
        `a_metric{env="prod",job="x",cluster="c1",instance=""} 1e+21 ${NOW - 20000}`,
        '# TYPE b_metric untyped',
        `b_metric{instance="h:1",job="x",cluster="c1",env="ignored"} 2 ${NOW - 10000}`,
        '# TYPE c untyped',
        `c{job="y",quote="a\\"b\\\\c\\nd",cluster="c1",env="ignored",instance=""} +Inf ${NOW - 1000}`,
        '',
      ].join('\n'),
    );
  });

  it('rejects missing-content and hostile selectors with 400 and answers an empty body without match[]', async () => {
    const a = await app(await fill());
    expect((await a.inject({ url: '/federate?match[]={job=~".*"}' })).statusCode).toBe(400);
    expect((await a.inject({ url: '/federate?match[]={job="x"' })).statusCode).toBe(400);
    expect((await a.inject({ url: `/federate?match[]=${'a'.repeat(20_000)}` })).statusCode).toBe(400);
    expect((await a.inject({ url: `/federate?${Array.from({ length: 300 }, () => 'match[]=up').join('&')}` })).statusCode).toBe(400);
    const empty = await a.inject({ url: '/federate' });
    expect(empty.statusCode).toBe(200);
    expect(empty.body).toBe('');
  });

  it('answers 503 in agent mode (no local store)', async () => {
    const a = await app(undefined);
    expect((await a.inject({ url: '/federate?match[]=up' })).statusCode).toBe(503);
  });
});

// The real Prometheus federating from Vigil: test/collectors/prometheus-scrapes-vigil.test.ts,
// which shares one Prometheus between its /metrics and /federate scrapes.
