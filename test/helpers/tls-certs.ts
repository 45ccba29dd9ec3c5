/**
 * Certificates for TLS tests, made with the real `openssl` binary in a
 * temporary directory: a CA, a server certificate it signed for 127.0.0.1 and
 * localhost, a client certificate it signed, a second unrelated CA, and a
 * self-signed server certificate. EC keys keep generation to a few ms each.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from './services.js';

export interface TestCerts {
  dir: string;
  caFile: string;
  /** A CA that signed nothing here: trusting only it must fail verification. */
  otherCaFile: string;
  serverCert: Buffer;
  serverKey: Buffer;
  clientCertFile: string;
  clientKeyFile: string;
  selfSignedCert: Buffer;
  selfSignedKey: Buffer;
  remove(): void;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Makes the certificates, or returns undefined (after a loud skip; a failure under VIGIL_TEST_STRICT) without openssl. */
export function makeTestCerts(): TestCerts | undefined {
  const openssl = requireBinary('openssl');
  if (!openssl) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'vigil-tls-'));
  const p = (name: string) => join(dir, name);
  const run = (...args: string[]) => execFileSync(openssl, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ca = (name: string) => run('req', '-x509', ...EC, '-days', '1', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', '-keyout', p(`${name}.key`), '-out', p(`${name}.crt`));
  const signed = (name: string, ext: string) => {
    run('req', '-new', ...EC, '-subj', `/CN=${name}`, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`));
    writeFileSync(p(`${name}.ext`), ext);
    run('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', p(`${name}.ext`), '-out', p(`${name}.crt`));
  };
  ca('ca');
  ca('other-ca');
  signed('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  signed('client', 'extendedKeyUsage=clientAuth\n');
  run('req', '-x509', ...EC, '-days', '1', '-subj', '/CN=self-signed', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', p('self.key'), '-out', p('self.crt'));
  return {
    dir,
    caFile: p('ca.crt'),
    otherCaFile: p('other-ca.crt'),
    serverCert: readFileSync(p('server.crt')),
    serverKey: readFileSync(p('server.key')),
    clientCertFile: p('client.crt'),
    clientKeyFile: p('client.key'),
    selfSignedCert: readFileSync(p('self.crt')),
    selfSignedKey: readFileSync(p('self.key')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
