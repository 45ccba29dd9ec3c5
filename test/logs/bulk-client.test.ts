import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { elasticsearchSchema } from '../../src/config/logs.js';
import { silentLogger } from '../../src/logger.js';
import { ElasticsearchResponseError, ElasticsearchSink } from '../../src/logs/elasticsearch.js';
import { eventId } from '../../src/logs/event.js';
import { createLogMetrics } from '../../src/logs/metrics.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A server recording each request and answering with `answer`. */
class Recorder {
  seen: Seen[] = [];
  answer: (s: Seen) => { status: number; body: string } = () => ({ status: 200, body: '{"took":1,"errors":false,"items":[]}' });
  private server?: Server;
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        this.seen.push(s);
        const a = this.answer(s);
        res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server!.address() as { port: number }).port;
    return this;
  }

  close(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((r) => this.server!.close(() => r()));
  }
}

const event = { id: eventId('t', 1), json: '{"message":"m"}' };

describe('the bulk client', () => {
  let rec: Recorder;
  let sink: ElasticsearchSink | undefined;
  beforeEach(async () => {
    rec = await new Recorder().start();
  });
  afterEach(async () => {
    await sink?.close();
    sink = undefined;
    await rec.close();
  });

  function make(extra: Record<string, unknown>, urls = [`http://127.0.0.1:${rec.port}`]): ElasticsearchSink {
    const cfg = elasticsearchSchema.parse({ urls, data_stream: 'logs-t-default', ...extra });
    sink = new ElasticsearchSink(cfg, createLogMetrics(new Registry()), silentLogger());
    return sink;
  }

  it('sends the API key, basic credentials from the config or from the URL, and none when unset', async () => {
    await make({ api_key: 'a2V5' }).send([event]);
    await make({ username: 'u', password: 'p' }).send([event]);
    await make({}, [`http://us%40er:p%3Ass@127.0.0.1:${rec.port}/`]).send([event]);
    await make({}).send([event]);
    expect(rec.seen.map((s) => s.headers.authorization)).toEqual([
      'ApiKey a2V5',
      `Basic ${Buffer.from('u:p').toString('base64')}`,
      `Basic ${Buffer.from('us@er:p:ss').toString('base64')}`,
      undefined,
    ]);
  });

  it('posts NDJSON create items to the data stream with the response filter, under a URL path prefix', async () => {
    await make({}, [`http://127.0.0.1:${rec.port}/es/`]).send([event]);
    const s = rec.seen[0];
    expect(s.method).toBe('POST');
    expect(s.url).toBe('/es/logs-t-default/_bulk?filter_path=took,errors,items.*.status,items.*.error');
    expect(s.headers['content-type']).toBe('application/x-ndjson');
    expect(s.body).toBe(`{"create":{"_id":"${event.id}"}}\n{"message":"m"}\n`);
  });

  it('throws on a whole-request error status, so the queue retries the batch', async () => {
    rec.answer = () => ({ status: 503, body: '{"error":"busy"}' });
    await expect(make({}).send([event])).rejects.toThrow(ElasticsearchResponseError);
    await expect(make({}).send([event])).rejects.toThrow('HTTP 503: {"error":"busy"}');
  });

  it('gives up on a request after request_timeout', async () => {
    rec.answer = () => ({ status: 200, body: '' });
    const slow = createServer(() => undefined);
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    try {
      const port = (slow.address() as { port: number }).port;
      await expect(make({ request_timeout: '50ms' }, [`http://127.0.0.1:${port}`]).send([event])).rejects.toThrow('no response within 50 ms');
    } finally {
      slow.closeAllConnections();
      await new Promise((r) => slow.close(r));
    }
  });

  it('returns 429 items for retry, dead-letters mapping rejections and treats 409 as delivered', async () => {
    const ids = [eventId('t', 1), eventId('t', 2), eventId('t', 3)];
    rec.answer = (s) =>
      s.url.startsWith('/logs-t-default/')
        ? {
            status: 200,
            body: JSON.stringify({ took: 1, errors: true, items: [{ create: { status: 409 } }, { create: { status: 429 } }, { create: { status: 400, error: { type: 'mapper_parsing_exception', reason: 'bad' } } }] }),
          }
        : { status: 200, body: '{"took":1,"errors":false,"items":[{"create":{"status":201}}]}' };
    const evs = ids.map((id, i) => ({ id, json: `{"n":${i}}` }));
    const retry = await make({}).send(evs);
    expect(retry).toEqual([evs[1]]);
    const dl = rec.seen[1];
    expect(dl.url.startsWith('/vigil-dead-letter/_bulk')).toBe(true);
    const [head, doc] = dl.body.split('\n');
    expect(JSON.parse(head)).toEqual({ create: { _id: ids[2] } });
    expect(JSON.parse(doc)).toMatchObject({ error: { type: 'mapper_parsing_exception', message: 'bad' }, event: { original: '{"n":2}' } });
  });

  it('spreads requests over the configured nodes', async () => {
    const other = await new Recorder().start();
    try {
      const s = make({}, [`http://127.0.0.1:${rec.port}`, `http://127.0.0.1:${other.port}`]);
      for (let i = 0; i < 4; i++) await s.send([event]);
      expect([rec.seen.length, other.seen.length]).toEqual([2, 2]);
    } finally {
      await other.close();
    }
  });
});
