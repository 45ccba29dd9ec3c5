/**
 * A scrape job's tls_config and basic_auth files, named relative to a config
 * file in another directory than the working one, are read from the config's
 * directory: a real Vigil scrapes a real https target that requires the client
 * certificate and the password.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { loadValidatedConfig } from '../../src/config-check.js';
import { silentLogger } from '../../src/logger.js';
import { startVigil } from '../../src/main.js';
import { makeTestCerts } from '../helpers/tls-certs.js';

const certs = makeTestCerts();
const root = mkdtempSync(join(tmpdir(), 'vigil-scrape-files-'));
let server: Server | undefined;
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  certs?.remove();
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!certs)('scrape tls_config and password_file', () => {
  it('resolve against the config file directory, not the working directory', async () => {
    const c = certs!;
    const expected = 'Basic ' + Buffer.from('vigil:s3cret').toString('base64');
    let scraped!: () => void;
    const seen = new Promise<void>((r) => (scraped = r));
    server = createServer({ key: c.serverKey, cert: c.serverCert, ca: readFileSync(c.caFile), requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      if (req.headers.authorization !== expected || peer.subject?.CN !== 'client') {
        res.statusCode = 401;
        return res.end();
      }
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end('up_from_target 1\n');
      scraped();
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;

    const dir = join(root, 'etc', 'vigil');
    mkdirSync(join(dir, 'secrets'), { recursive: true });
    copyFileSync(c.caFile, join(dir, 'secrets', 'ca.crt'));
    copyFileSync(c.clientCertFile, join(dir, 'secrets', 'client.crt'));
    copyFileSync(c.clientKeyFile, join(dir, 'secrets', 'client.key'));
    writeFileSync(join(dir, 'secrets', 'password'), 's3cret\n');
    const file = join(dir, 'vigil.yml');
    writeFileSync(
      file,
      [
        'server: {listen: "127.0.0.1:0"}',
        'storage: {path: data}',
        'logs: {self: false}',
        'scrape_configs:',
        '  - job_name: secure',
        '    scheme: https',
        '    scrape_interval: 1s',
        '    scrape_timeout: 1s',
        `    targets: ["localhost:${port}"]`,
        '    basic_auth: {username: vigil, password_file: secrets/password}',
        '    tls_config: {ca_file: secrets/ca.crt, cert_file: secrets/client.crt, key_file: secrets/client.key}',
        '',
      ].join('\n'),
    );
    expect(process.cwd()).not.toBe(dir);
    const loaded = await loadValidatedConfig(file, { env: {} });
    expect(loaded.config.scrape_configs[0].tls_config?.ca_file).toBe(join(dir, 'secrets', 'ca.crt'));
    const v = await startVigil(loaded, { logger: silentLogger(), listen: '127.0.0.1:0' });
    try {
      await seen;
    } finally {
      await v.stop();
    }
  });
});
