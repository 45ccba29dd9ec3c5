/**
 * Prometheus's `tls_config` as Node TLS options: the one place that reads
 * its files and maps its keys, for every outgoing client (scrapes, remote
 * write, the query backend, log shipping).
 *
 * The files are read and parsed here, so a caller that builds its options
 * while the configuration is loaded or checked turns a missing file, a file
 * that is not PEM, or a key that does not match its certificate into a
 * configuration error naming the field, instead of a failure at the first
 * connection.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext, type ConnectionOptions, type SecureVersion } from 'node:tls';

/** The keys of Prometheus's tls_config (src/config/http-client.ts tlsConfigSchema). */
export interface TlsConfig {
  insecure_skip_verify?: boolean;
  ca_file?: string;
  cert_file?: string;
  key_file?: string;
  server_name?: string;
  min_version?: string;
}

export type TlsOptions = Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'servername' | 'rejectUnauthorized' | 'minVersion'>;

/** Prometheus's min_version names and Node's. */
export const TLS_VERSIONS: Readonly<Record<string, SecureVersion>> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

/** A tls_config Node cannot use; `key` is the tls_config key at fault, `field` the whole path. */
export class TlsConfigError extends Error {
  override name = 'TlsConfigError';
  constructor(
    readonly field: string,
    readonly key: keyof TlsConfig,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

export interface TlsReadOptions {
  /** Relative file paths resolve against it (the config file's directory). */
  baseDir?: string;
  /** Names the tls_config in errors, e.g. `remote_write[0].tls_config`. */
  where?: string;
  /**
   * Parse the certificates and check that key and certificate match (default).
   * A caller reading the files at every request (scrapes) leaves this to the
   * TLS handshake, which parses them anyway.
   */
  check?: boolean;
}

/** Why a file named in the config cannot be read, in the words every config check uses. */
export function cannotRead(path: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return `cannot read ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`;
}

/** Reads the files of `c` and returns the options for tls.connect or an https.Agent. */
export function tlsOptions(c: TlsConfig | undefined, o: TlsReadOptions = {}): TlsOptions {
  const { baseDir = '.', where = 'tls_config', check = true } = o;
  if (!c) return {};
  const fail = (key: keyof TlsConfig, reason: string): never => {
    throw new TlsConfigError(`${where}.${key}`, key, reason);
  };
  const read = (key: 'ca_file' | 'cert_file' | 'key_file'): Buffer | undefined => {
    const file = c[key];
    if (!file) return undefined;
    const path = resolve(baseDir, file);
    try {
      return readFileSync(path);
    } catch (err) {
      return fail(key, cannotRead(path, err));
    }
  };
  const out: TlsOptions = { rejectUnauthorized: !c.insecure_skip_verify };
  if (c.server_name) out.servername = c.server_name;
  if (c.min_version) out.minVersion = TLS_VERSIONS[c.min_version] ?? fail('min_version', `unknown TLS version ${JSON.stringify(c.min_version)} (use one of ${Object.keys(TLS_VERSIONS).join(', ')})`);
  const ca = read('ca_file');
  if (ca && check) {
    try {
      new X509Certificate(ca);
    } catch (err) {
      fail('ca_file', `${c.ca_file} holds no PEM certificate (${(err as Error).message})`);
    }
  }
  if (ca) out.ca = ca;
  if (!!c.cert_file !== !!c.key_file) fail(c.cert_file ? 'key_file' : 'cert_file', 'cert_file and key_file go together: a client certificate needs its key');
  const cert = read('cert_file');
  const key = read('key_file');
  if (cert && key && check) {
    try {
      // Parses both and checks that the key belongs to the certificate.
      createSecureContext({ cert, key });
    } catch (err) {
      fail('cert_file', `${c.cert_file} and ${c.key_file} are not a matching PEM certificate and key (${(err as Error).message})`);
    }
  }
  if (cert && key) {
    out.cert = cert;
    out.key = key;
  }
  return out;
}
