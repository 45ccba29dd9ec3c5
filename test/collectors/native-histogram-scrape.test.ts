import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectors } from '../../src/collectors/index.js';
import { encodeProtobufExposition } from '../../src/collectors/protobuf-exposition.js';
import { acceptHeader } from '../../src/collectors/scrape-protocols.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { openTsdb, type Tsdb } from '../../src/tsdb/index.js';
import type { SeriesData } from '../../src/tsdb/types.js';

/**
 * Native histograms scraped over loopback HTTP by the scrape loop and its
 * worker pool into the embedded store: content negotiation, histogram samples
 * beside float ones, staleness markers for a histogram series that vanishes,
 * and classic buckets only when native histograms are off.
 */

const PROTOBUF = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

function families(count: number, withHistogram: boolean): unknown[] {
  const out: unknown[] = [{ name: 'jobs_total', type: 0, metric: [{ counter: { value: count } }] }];
  if (withHistogram) {
    out.push({
      name: 'rpc_seconds',
      type: 4,
      metric: [
        {
          label: [{ name: 'route', value: '/a' }],
          histogram: {
            sample_count: count,
            sample_sum: count * 0.5,
            schema: 0,
            zero_threshold: 0.001,
            zero_count: 0,
            positive_span: [{ offset: 0, length: 2 }],
            positive_delta: [count - 1, 2 - count],
            // Classic buckets exposed as well: kept only when native histograms are off.
            bucket: [{ upper_bound: 1, cumulative_count: count - 1 }],
          },
        },
      ],
    });
  }
  return out;
}

let server: Server;
let address: string;
let scrapes = 0;
let withHistogram = true;
/** A body to send instead of the exposition (damaged input). */
let override: Uint8Array | undefined;
let accepts: string[] = [];
const root = mkdtempSync(join(tmpdir(), 'vigil-nh-scrape-'));
let n = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    accepts.push(String(req.headers.accept ?? ''));
    scrapes++;
    if (String(req.headers.accept ?? '').startsWith('application/vnd.google.protobuf')) {
      res.setHeader('content-type', PROTOBUF);
      res.end(override ?? encodeProtobufExposition(families(scrapes + 1, withHistogram)));
    } else res.end(`# TYPE jobs_total counter\njobs_total ${scrapes + 1}\n`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(root, { recursive: true, force: true });
});

async function run(yamlExtra: string, rounds: Array<() => void>): Promise<{ db: Tsdb; series: SeriesData[] }> {
  const config = parseConfig(`${yamlExtra}scrape_configs:\n  - job_name: app\n    scrape_interval: 15s\n    static_configs: [{targets: ['${address}']}]\n`, 'test.yml', { env: {} });
  const db = await openTsdb({ dir: join(root, `db${n++}`), retentionMs: 24 * 3600_000, checkpointIntervalMs: 0 });
  const collectors = createCollectors({ config, storage: db, registry: new Registry(), logger: silentLogger() });
  try {
    for (const before of rounds) {
      before();
      await collectors.scrapeAll();
    }
  } finally {
    await collectors.stop();
  }
  return { db, series: db.querier().select([{ type: '=~', name: '__name__', value: 'rpc_seconds.*|jobs_total' }], 0, Date.now() + 1000) };
}

describe('scraping native histograms', () => {
  it('negotiates protobuf, stores histograms beside floats and ends a vanished histogram series with a marker', async () => {
    accepts = [];
    withHistogram = true;
    const { db, series } = await run('global:\n  scrape_native_histograms: true\n', [() => {}, () => {}, () => (withHistogram = false)]);
    expect(accepts[0]).toBe(
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1',
    );
    const hist = series.find((s) => s.labels.__name__ === 'rpc_seconds')!;
    expect(hist.labels).toEqual({ __name__: 'rpc_seconds', route: '/a', job: 'app', instance: address });
    expect(hist.t).toHaveLength(3);
    const first = hist.h![0]!;
    expect(first.count).toBe(scrapes - 1);
    expect(first.positive.idx).toEqual([0, 1]);
    expect(hist.h![1]!.count).toBe(scrapes);
    expect(hist.stale?.[2]).toBe(1);
    expect(series.some((s) => s.labels.__name__ === 'rpc_seconds_bucket')).toBe(false);
    expect(Array.from(series.find((s) => s.labels.__name__ === 'jobs_total')!.v)).toEqual([scrapes - 1, scrapes, scrapes + 1]);
    await db.close();
  });

  it('keeps the classic series of a protobuf scrape with native histograms off', async () => {
    withHistogram = true;
    const { db, series } = await run('global:\n  scrape_protocols: [PrometheusProto, PrometheusText0.0.4]\n', [() => {}]);
    expect(series.find((s) => s.labels.__name__ === 'rpc_seconds')).toBeUndefined();
    expect(series.filter((s) => s.labels.__name__ === 'rpc_seconds_bucket').map((s) => s.labels.le).sort()).toEqual(['+Inf', '1']);
    expect(series.find((s) => s.labels.__name__ === 'rpc_seconds_count')!.v[0]).toBe(scrapes + 1);
    await db.close();
  });

  it('fails a scrape with a damaged protobuf body (up 0) and goes on with the next one', async () => {
    withHistogram = true;
    const good = encodeProtobufExposition(families(5, true));
    const { db } = await run('global:\n  scrape_native_histograms: true\n', [() => (override = good.subarray(0, good.length - 7)), () => (override = undefined)]);
    const up = db.querier().select([{ type: '=', name: '__name__', value: 'up' }], 0, Date.now() + 1000);
    expect(Array.from(up[0].v)).toEqual([0, 1]);
    await db.close();
  });

  it('sends the text-only Accept header unless configured', async () => {
    accepts = [];
    const { db, series } = await run('', [() => {}]);
    expect(accepts[0]).toMatch(/^application\/openmetrics-text;version=1.0.0,/);
    expect(series.map((s) => s.labels.__name__)).toEqual(['jobs_total']);
    await db.close();
  });

  it('builds the Accept header in the configured order and rejects unknown protocols', () => {
    expect(acceptHeader(['PrometheusText0.0.4'])).toBe('text/plain;version=0.0.4;q=0.6,*/*;q=0.5');
    expect(() => parseConfig('scrape_configs:\n  - job_name: a\n    scrape_protocols: [Protobuf]\n', 'test.yml', { env: {} })).toThrow(/scrape_protocols/);
  });
});
