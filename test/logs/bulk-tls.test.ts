/**
 * The log shipper's tls_insecure against a real https `_bulk` endpoint on
 * loopback with a self-signed certificate (made by the openssl binary).
 */
import { createServer, type Server } from 'node:https';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { elasticsearchSchema } from '../../src/config/logs.js';
import { silentLogger } from '../../src/logger.js';
import { ElasticsearchSink } from '../../src/logs/elasticsearch.js';
import { eventId } from '../../src/logs/event.js';
import { createLogMetrics } from '../../src/logs/metrics.js';
import { makeTestCerts } from '../helpers/tls-certs.js';

const certs = makeTestCerts();
afterAll(() => certs?.remove());

describe.skipIf(!certs)('log shipping over https', () => {
  let server: Server | undefined;
  const sinks: ElasticsearchSink[] = [];
  afterEach(async () => {
    for (const s of sinks.splice(0)) await s.close();
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  it('tls_insecure reaches a self-signed _bulk endpoint; without it the certificate is refused', async () => {
    const bodies: string[] = [];
    server = createServer({ key: certs!.selfSignedKey, cert: certs!.selfSignedCert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(`${req.method} ${req.url} ${Buffer.concat(chunks).toString('utf8')}`);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"took":1,"errors":false,"items":[{"create":{"status":201}}]}');
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
    const sink = (tls_insecure: boolean) => {
      const s = new ElasticsearchSink(elasticsearchSchema.parse({ urls: [url], data_stream: 'logs-t-default', tls_insecure }), createLogMetrics(new Registry()), silentLogger());
      sinks.push(s);
      return s;
    };
    const event = { id: eventId('t', 1), json: '{"message":"over tls"}' };
    expect(await sink(true).send([event])).toEqual([]);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatch(/^POST \/logs-t-default\/_bulk.*over tls/s);
    await expect(sink(false).send([event])).rejects.toThrow(/self-signed certificate/);
    expect(bodies).toHaveLength(1);
  });
});
