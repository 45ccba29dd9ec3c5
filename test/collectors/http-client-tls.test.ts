/**
 * The scrape client's tls_config (the same tlsOptions as remote write) against
 * a real https server on loopback that requires a client certificate.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { afterAll, describe, expect, it } from 'vitest';
import { httpGet } from '../../src/collectors/http-client.js';
import { makeTestCerts } from '../helpers/tls-certs.js';

const certs = makeTestCerts();
let server: Server | undefined;
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  certs?.remove();
});

describe.skipIf(!certs)('scrape client over https', () => {
  it('verifies the server with ca_file, checks server_name, presents cert_file/key_file', async () => {
    const c = certs!;
    server = createServer({ key: c.serverKey, cert: c.serverCert, ca: readFileSync(c.caFile), requestCert: true, rejectUnauthorized: true }, (_req, res) => res.end('up 1\n'));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}/metrics`;
    const get = (tls_config: Parameters<typeof httpGet>[1]['tls_config']) => httpGet(url, { signal: AbortSignal.timeout(5000), bodyLimit: 0, tls_config });
    const client = { cert_file: c.clientCertFile, key_file: c.clientKeyFile };
    expect((await get({ insecure_skip_verify: false, ca_file: c.caFile, server_name: 'localhost', ...client })).body).toBe('up 1\n');
    await expect(get({ insecure_skip_verify: false, ca_file: c.otherCaFile, ...client })).rejects.toThrow(/verify|certificate/);
    await expect(get({ insecure_skip_verify: false, ca_file: c.caFile, server_name: 'vigil.invalid', ...client })).rejects.toThrow(/vigil\.invalid/);
    expect((await get({ insecure_skip_verify: true, ...client })).body).toBe('up 1\n');
    await expect(get({ insecure_skip_verify: false, ca_file: `${c.dir}/missing.crt` })).rejects.toThrow(/tls_config\.ca_file: cannot read .*missing\.crt: no such file/);
  });
});
