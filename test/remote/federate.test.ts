import Fastify from 'fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { startVigil } from '../../src/main.js';
import { federateRoute } from '../../src/remote/federate.js';
import { MemoryStorage } from '../../src/tsdb/index.js';
import { waitFor } from '../helpers/net.js';
import { startPrometheus } from '../helpers/prometheus.js';
import { requireBinary } from '../helpers/services.js';

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

const promBin = requireBinary('prometheus');

describe.skipIf(!promBin)('the real Prometheus 2.42 federating from Vigil', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-fed-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back the selected series with Vigil external labels and values', async () => {
    const config = parseConfig(
      `global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s, external_labels: {site: vigil-a}}
storage: {path: data}
logs: {self: false}
scrape_configs:
  - job_name: self
    static_configs: [{targets: ['127.0.0.1:1']}]
`,
    );
    const vigil = await startVigil({ config, file: join(dir, 'vigil.yml'), baseDir: dir }, { listen: '127.0.0.1:0', logger: silentLogger() });
    const app = vigil.storage.appender();
    const now = Date.now();
    for (let i = 0; i < 5; i++) app.append({ __name__: 'fed_metric', job: 'fed', i: String(i) }, now, i * 1.25);
    await app.commit();
    const target = new URL(vigil.url).host;
    const prom = await startPrometheus({
      prometheus: promBin!,
      config: `global: {scrape_interval: 1s}
scrape_configs:
  - job_name: federate
    honor_labels: true
    metrics_path: /federate
    params: {'match[]': ['{job="fed"}', 'up{job="self"}']}
    static_configs: [{targets: ['${target}']}]
`,
    });
    try {
      const got = await waitFor(async () => {
        const res = await fetch(`${prom.url}/api/v1/query?${new URLSearchParams({ query: '{job=~"fed|self", __name__!="scrape_samples_scraped", __name__=~"fed_metric|up"}' })}`);
        const j = (await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
        return j.data.result.length >= 6 ? j.data.result : undefined;
      }, 30_000, 500);
      const fed = got.filter((r) => r.metric.__name__ === 'fed_metric').sort((a, b) => Number(a.metric.i) - Number(b.metric.i));
      expect(fed.map((r) => [r.metric.i, r.metric.site, r.value[1]])).toEqual([0, 1, 2, 3, 4].map((i) => [String(i), 'vigil-a', String(i * 1.25)]));
      // honor_labels keeps Vigil's job label; instance="" from Vigil means Prometheus's own instance is not forced on.
      expect(fed[0].metric.job).toBe('fed');
      const up = got.find((r) => r.metric.__name__ === 'up' && r.metric.job === 'self');
      expect(up?.value[1]).toBe('0');
    } finally {
      await prom.stop();
      await vigil.stop();
    }
  }, 90_000);
});
