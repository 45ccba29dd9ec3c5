/**
 * Remote write and the query backend over https, against real node:https
 * servers on loopback with certificates the openssl binary made: tls_config's
 * ca_file, server_name, insecure_skip_verify and client certificates.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { queryBackendSchema, remoteWriteSchema } from '../../src/config/remote.js';
import { silentLogger } from '../../src/logger.js';
import { BackendError, createBackendEngine, createRemoteWrite, type RemoteWrite } from '../../src/remote/index.js';
import { WriteClient } from '../../src/remote/send.js';
import { openTsdb, type Tsdb } from '../../src/tsdb/index.js';
import { tlsOptions, type TlsConfig } from '../../src/util/tls-options.js';
import { waitFor } from '../helpers/net.js';
import { makeTestCerts } from '../helpers/tls-certs.js';
import { Receiver } from './receiver.js';

const certs = makeTestCerts();
afterAll(() => certs?.remove());

describe.skipIf(!certs)('remote write over https', () => {
  const c = certs!;
  let dir: string;
  let db: Tsdb;
  let rx: Receiver | undefined;
  let rw: RemoteWrite | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-rw-tls-'));
    db = await openTsdb({ dir, retentionMs: 24 * 3600_000, checkpointIntervalMs: 0 });
  });
  afterEach(async () => {
    await rw?.stop();
    await rx?.stop();
    rw = rx = undefined;
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const signedByCa = () => ({ key: c.serverKey, cert: c.serverCert });

  /** A receiver with `server` TLS, and a started queue sending to it with `tls_config` (absolute paths, as config loading leaves them). */
  async function sendTo(server: ConstructorParameters<typeof Receiver>[0], tls_config: TlsConfig): Promise<Registry> {
    rx = new Receiver(server);
    await rx.start();
    const registry = new Registry();
    const config = remoteWriteSchema.parse({ url: rx.url, tls_config, queue_config: { batch_send_deadline: '20ms', min_backoff: '10ms', max_backoff: '40ms' } });
    rw = createRemoteWrite({ configs: [config], store: db, dataDir: dir, registry, logger: silentLogger(), externalLabels: {}, pollIntervalMs: 20 });
    await rw.start();
    return registry;
  }

  async function write(n: number): Promise<void> {
    const app = db.appender();
    for (let i = 0; i < n; i++) app.append({ __name__: 'm', i: String(i) }, 1_000_000, i);
    await app.commit();
  }

  const clientFor = (url: string, tls: TlsConfig) => new WriteClient({ url, headers: {}, timeoutMs: 5000, retryOn429: true, tls: tlsOptions(tls) });

  it('delivers to a server whose certificate the ca_file CA signed', async () => {
    await sendTo(signedByCa(), { ca_file: c.caFile });
    await write(10);
    await waitFor(() => rx!.total() >= 10 || undefined, 5000);
    expect(rx!.samples.get('__name__=m,i=7')).toEqual([[1_000_000, 7]]);
  });

  it('with a CA that did not sign the server: sends fail saying why, are counted as retried, the queue keeps running', async () => {
    const registry = await sendTo(signedByCa(), { ca_file: c.otherCaFile });
    await write(5);
    const retried = /prometheus_remote_storage_samples_retried_total\{[^}]*\} (\d+)/;
    await waitFor(async () => Number(retried.exec(await registry.metrics())?.[1] ?? 0) >= 10 || undefined, 5000);
    expect(rx!.total()).toBe(0);
    const out = await clientFor(rx!.url, { ca_file: c.otherCaFile }).post(new Uint8Array(1));
    expect(out).toMatchObject({ kind: 'retry', reason: expect.stringMatching(/^server certificate not trusted: .*; tls_config\.ca_file names the CA .*\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/) });
    // The default trust store does not know the test CA either.
    expect(await clientFor(rx!.url, {}).post(new Uint8Array(1))).toMatchObject({ kind: 'retry', reason: expect.stringMatching(/not trusted/) });
  });

  it('insecure_skip_verify delivers to a self-signed server', async () => {
    await sendTo({ key: c.selfSignedKey, cert: c.selfSignedCert }, { insecure_skip_verify: true });
    await write(3);
    await waitFor(() => rx!.total() >= 3 || undefined, 5000);
  });

  it('a server that requires a client certificate gets the one from cert_file and key_file', async () => {
    const mutual = { ...signedByCa(), ca: readFileSync(c.caFile), requestCert: true, rejectUnauthorized: true };
    await sendTo(mutual, { ca_file: c.caFile, cert_file: c.clientCertFile, key_file: c.clientKeyFile });
    await write(4);
    await waitFor(() => rx!.total() >= 4 || undefined, 5000);
    // Without it the server ends the handshake, and the reason says what to look at.
    expect(await clientFor(rx!.url, { ca_file: c.caFile }).post(new Uint8Array(1))).toMatchObject({ kind: 'retry', reason: expect.stringMatching(/^TLS handshake failed: .*certificate required.*tls_config\.cert_file/) });
  });
});

describe.skipIf(!certs)('query backend over https', () => {
  const c = certs!;
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  it('answers with ca_file and server_name (gzip answers decoded); a wrong CA is a BackendError, counted as unreachable', async () => {
    const seen: Array<string | undefined> = [];
    server = createServer({ key: c.serverKey, cert: c.serverCert }, (req, res) => {
      seen.push(req.headers.authorization);
      const body = JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: { __name__: 'up' }, value: [1, '1'] }] } });
      // Compressed when asked, as Prometheus and VictoriaMetrics answer.
      if (String(req.headers['accept-encoding']).includes('gzip')) res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync(body));
      else res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
    const engine = (tls_config: TlsConfig, registry?: Registry) =>
      createBackendEngine({ config: queryBackendSchema.parse({ url, tls_config, authorization: { credentials: 't' } }), registry });

    const v = await engine({ ca_file: c.caFile }).instantQuery('up', 1000);
    expect(v.value).toEqual({ resultType: 'vector', result: [{ labels: { __name__: 'up' }, t: 1000, v: 1 }] });
    expect(seen).toEqual(['Bearer t']);
    // The certificate names localhost too: server_name checks against that name instead of the URL's host.
    expect((await engine({ ca_file: c.caFile, server_name: 'localhost' }).instantQuery('up', 1000)).value.resultType).toBe('vector');
    await expect(engine({ ca_file: c.caFile, server_name: 'vigil.invalid' }).instantQuery('up', 1000)).rejects.toThrow(/vigil\.invalid.*tls_config\.server_name/);

    const registry = new Registry();
    const wrong = engine({ ca_file: c.otherCaFile }, registry);
    await expect(wrong.instantQuery('up', 1000)).rejects.toSatisfy((e: unknown) => e instanceof BackendError && /not trusted/.test(e.message));
    expect(wrong.up()).toBe(false);
    expect(await registry.metrics()).toMatch(/vigil_query_backend_failures_total\{endpoint="query",reason="unreachable"\} 1/);
    expect(seen).toHaveLength(2);
  });
});
