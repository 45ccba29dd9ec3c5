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

/** An idle connection is closed after this long, as fetch (undici) does: a receiver may close it first otherwise, failing the next request on it. */
const IDLE_MS = 4000;

export class HttpTimeoutError extends Error {
  override name = 'TimeoutError';
  constructor(ms: number) {
    super(`no response within ${ms} ms`);
  }
}

export interface KeepAliveOptions {
  timeoutMs: number;
  /** Skip TLS certificate verification (self-signed test servers only). */
  tlsInsecure?: boolean;
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

/** Sends requests over reused connections; rejects only when no response status arrived. */
export class KeepAliveClient {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly o: KeepAliveOptions) {
    this.httpAgent = new http.Agent({ keepAlive: true, timeout: IDLE_MS });
    this.httpsAgent = new https.Agent({ keepAlive: true, timeout: IDLE_MS, rejectUnauthorized: !o.tlsInsecure });
  }

  request(url: URL, r: RequestOptions): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
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
        const status = res.statusCode ?? 0;
        readBody(res, r.keep(status)).then((body) => done(undefined, { status, headers: res.headers, ...body }));
      });
      const timer = setTimeout(() => req.destroy(new HttpTimeoutError(this.o.timeoutMs)), this.o.timeoutMs);
      const signal = r.signal;
      const unlink = signal ? onAbort(signal, () => req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'))) : undefined;
      req.on('error', (err) => done(err));
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
