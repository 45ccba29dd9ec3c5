/**
 * Requests over node:http(s) with one keep-alive agent per client, for the
 * hot senders (remote write, log `_bulk`). Chosen over fetch and over the
 * Elasticsearch client: a busy sender makes dozens of requests per second,
 * and fetch's request, header and body-stream objects (or a client's
 * serialisation and diagnostics layers) cost several times the CPU of the
 * request itself.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { onAbort } from './abort.js';
import type { TlsOptions } from './tls-options.js';

/** An idle connection is closed after this long, as fetch (undici) does: a receiver may close it first otherwise, failing the next request on it. */
const IDLE_MS = 4000;

export class HttpTimeoutError extends Error {
  override name = 'TimeoutError';
  constructor(ms: number) {
    super(`no response within ${ms} ms`);
  }
}

/** Node's codes for a server certificate that does not verify against the trusted CAs. */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

/**
 * A failed request's error as one line for logs and metrics' reasons, with
 * its code; TLS failures say which tls_config setting to look at, and
 * OpenSSL's multi-part messages are cut to their reason.
 */
export function requestErrorText(err: Error & { code?: string }): string {
  const code = err.code ?? '';
  const withCode = (m: string) => `${m}${code && !m.includes(code) ? ` (${code})` : ''}`;
  if (UNTRUSTED.has(code)) return withCode(`server certificate not trusted: ${err.message}; tls_config.ca_file names the CA that signed it`);
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return withCode(`${err.message}; tls_config.server_name sets the name checked`);
  if (code.startsWith('ERR_SSL_')) {
    const reason = /SSL routines:[^:]*:([^:]+)/.exec(err.message)?.[1] ?? err.message.trim();
    const hint = /certificate required|handshake failure|bad certificate/.test(reason) ? '; does the server require a client certificate (tls_config.cert_file, key_file)?' : '';
    return withCode(`TLS handshake failed: ${reason}${hint}`);
  }
  return withCode(err.message);
}

export interface KeepAliveOptions {
  timeoutMs: number;
  /** For https URLs: CA, client certificate, server name, verification (see tlsOptions). */
  tls?: TlsOptions;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, or its first `keep` bytes; empty when `keep` was 0. */
  body: Buffer;
  /** False when the body was cut at `keep` bytes or the connection ended before it did. */
  complete: boolean;
}

export interface RequestOptions {
  method: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  signal?: AbortSignal;
  /** Bytes of the response body to keep for this status (0: discard it unread; Infinity: all). */
  keep: (status: number) => number;
}

/**
 * Sends requests over reused connections; rejects only when no response status
 * arrived. A request that finds its reused connection closed by the server is
 * sent once more on a new one.
 */
export class KeepAliveClient {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly o: KeepAliveOptions) {
    this.httpAgent = new http.Agent({ keepAlive: true, timeout: IDLE_MS });
    this.httpsAgent = new https.Agent({ keepAlive: true, timeout: IDLE_MS, ...o.tls });
  }

  request(url: URL, r: RequestOptions): Promise<HttpResponse> {
    return this.send(url, r, true);
  }

  private send(url: URL, r: RequestOptions, mayRetry: boolean): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      let responded = false;
      const done = (err: Error | undefined, res?: HttpResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        unlink?.();
        if (err) reject(err);
        else resolve(res!);
      };
      const secure = url.protocol === 'https:';
      const headers = r.body ? { ...r.headers, 'content-length': String(r.body.byteLength) } : r.headers;
      const req = (secure ? https.request : http.request)(url, { method: r.method, agent: secure ? this.httpsAgent : this.httpAgent, headers }, (res) => {
        responded = true;
        const status = res.statusCode ?? 0;
        readBody(res, r.keep(status)).then((body) => done(undefined, { status, headers: res.headers, ...body }));
      });
      const timer = setTimeout(() => req.destroy(new HttpTimeoutError(this.o.timeoutMs)), this.o.timeoutMs);
      const signal = r.signal;
      const unlink = signal ? onAbort(signal, () => req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'))) : undefined;
      req.on('error', (err: Error & { code?: string }) => {
        // The server closed an idle connection as this request went out on it, before
        // any answer: it was not processed, so it goes once more on a new connection.
        if (mayRetry && req.reusedSocket && !responded && !settled && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
          settled = true;
          clearTimeout(timer);
          unlink?.();
          resolve(this.send(url, r, false));
          return;
        }
        done(err);
      });
      req.end(r.body);
    });
  }

  /** Closes the idle connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** Reads up to `keep` bytes of a response; the rest is not read (the connection is dropped) unless `keep` is 0. */
function readBody(res: IncomingMessage, keep: number): Promise<{ body: Buffer; complete: boolean }> {
  return new Promise((resolve) => {
    let settled = false;
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (complete: boolean) => {
      if (settled) return;
      settled = true;
      resolve({ body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size), complete });
    };
    if (keep === 0) {
      // Drained, so the connection can carry the next request.
      res.on('end', () => finish(true));
      res.on('close', () => finish(false));
      res.resume();
      return;
    }
    res.on('data', (chunk: Buffer) => {
      if (settled) return;
      chunks.push(chunk);
      size += chunk.length;
      if (size > keep) {
        res.destroy();
        finish(false);
      }
    });
    res.on('end', () => finish(true));
    res.on('error', () => finish(false));
    res.on('close', () => finish(false));
  });
}
