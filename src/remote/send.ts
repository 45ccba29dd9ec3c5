/**
 * HTTP POSTs of remote-write bodies, classified the way Prometheus's queue
 * manager does: 2xx sent; 5xx, 429 and network errors recoverable (retried
 * with backoff, honouring Retry-After); any other status dropped.
 *
 * On node:http(s) with one keep-alive agent per destination rather than
 * fetch: a 100k-series scrape is about fifty requests, and fetch's request,
 * header and body-stream objects cost about three times the CPU of the
 * request itself.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { parseRetryAfter } from '../alerts/notify/types.js';
import { onAbort } from '../util/abort.js';

export type SendOutcome =
  | { kind: 'sent' }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'drop'; reason: string };

export interface SendOptions {
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
  retryOn429: boolean;
  now?: () => number;
}

const MAX_ERROR_BODY = 512;
/** An idle connection is closed after this long, as fetch (undici) does: a receiver may close it first otherwise, failing the next request on it. */
const IDLE_MS = 4000;

class SendTimeout extends Error {
  override name = 'TimeoutError';
}

/** Posts to one remote-write URL, reusing its connections. */
export class WriteClient {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly headers: Record<string, string>;

  constructor(private readonly o: SendOptions) {
    this.url = new URL(o.url);
    const secure = this.url.protocol === 'https:';
    this.agent = secure ? new https.Agent({ keepAlive: true, timeout: IDLE_MS }) : new http.Agent({ keepAlive: true, timeout: IDLE_MS });
    this.request = secure ? https.request : http.request;
    this.headers = {
      ...o.headers,
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
      'user-agent': 'Vigil',
    };
  }

  post(body: Uint8Array, signal?: AbortSignal): Promise<SendOutcome> {
    return new Promise<SendOutcome>((resolve) => {
      let settled = false;
      const done = (out: SendOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        unlink?.();
        resolve(out);
      };
      const req = this.request(this.url, { method: 'POST', agent: this.agent, headers: { ...this.headers, 'content-length': String(body.byteLength) } }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          res.on('end', () => done({ kind: 'sent' }));
          // Accepted once the status came: a connection lost afterwards changes nothing.
          res.on('close', () => done({ kind: 'sent' }));
          res.resume();
          return;
        }
        readSome(res).then((text) => done(this.classify(status, text, res.headers['retry-after'])));
      });
      const timer = setTimeout(() => req.destroy(new SendTimeout()), this.o.timeoutMs);
      const unlink = signal ? onAbort(signal, () => req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'))) : undefined;
      req.on('error', (err: Error & { code?: string }) => {
        done({ kind: 'retry', reason: err instanceof SendTimeout ? 'timeout' : `${err.message}${err.code && !err.message.includes(err.code) ? ` (${err.code})` : ''}` });
      });
      req.end(body);
    });
  }

  private classify(status: number, text: string, retryAfter: string | string[] | undefined): SendOutcome {
    const reason = `HTTP ${status}: ${text}`;
    if (status >= 500 || (status === 429 && this.o.retryOn429)) {
      return { kind: 'retry', reason, retryAfterMs: parseRetryAfter(retryAfter, this.o.now?.() ?? Date.now()) };
    }
    return { kind: 'drop', reason };
  }

  /** Closes the idle connections. */
  close(): void {
    this.agent.destroy();
  }
}

/** The start of an error response's body, as text; the rest is not read. */
function readSome(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    let cut = false;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      if (cut) return;
      text += chunk;
      if (text.length > MAX_ERROR_BODY) {
        cut = true;
        res.destroy();
        resolve(`${text.slice(0, MAX_ERROR_BODY)}…`);
      }
    });
    res.on('end', () => resolve(text.trim()));
    res.on('error', () => resolve(text.trim()));
    res.on('close', () => resolve(text.trim()));
  });
}
