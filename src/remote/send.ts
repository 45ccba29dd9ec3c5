/**
 * HTTP POSTs of remote-write bodies, classified the way Prometheus's queue
 * manager does: 2xx sent; 5xx, 429 and network errors recoverable (retried
 * with backoff, honouring Retry-After); any other status dropped.
 *
 * Sent over the shared keep-alive client (src/util/keep-alive-http.ts): a
 * 100k-series scrape is about fifty requests.
 */
import { parseRetryAfter } from '../alerts/notify/types.js';
import { HttpTimeoutError, KeepAliveClient, requestErrorText } from '../util/keep-alive-http.js';
import type { TlsOptions } from '../util/tls-options.js';

export type SendOutcome =
  | { kind: 'sent' }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'drop'; reason: string };

export interface SendOptions {
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
  retryOn429: boolean;
  /** For an https URL (from the entry's tls_config). */
  tls?: TlsOptions;
  now?: () => number;
}

const MAX_ERROR_BODY = 512;

/** Posts to one remote-write URL, reusing its connections. */
export class WriteClient {
  private readonly url: URL;
  private readonly http: KeepAliveClient;
  private readonly headers: Record<string, string>;

  constructor(private readonly o: SendOptions) {
    this.url = new URL(o.url);
    this.http = new KeepAliveClient({ timeoutMs: o.timeoutMs, tls: o.tls });
    this.headers = {
      ...o.headers,
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
      'user-agent': 'Vigil',
    };
  }

  async post(body: Uint8Array, signal?: AbortSignal): Promise<SendOutcome> {
    let res;
    try {
      // Only the start of an error's body is read; a success's is drained unread.
      res = await this.http.request(this.url, { method: 'POST', headers: this.headers, body, signal, keep: (s) => (s >= 200 && s < 300 ? 0 : MAX_ERROR_BODY * 4) });
    } catch (e) {
      return { kind: 'retry', reason: e instanceof HttpTimeoutError ? 'timeout' : requestErrorText(e as Error) };
    }
    // Accepted once the status came: a connection lost afterwards changes nothing.
    if (res.status >= 200 && res.status < 300) return { kind: 'sent' };
    const text = res.body.toString('utf8');
    return this.classify(res.status, text.length > MAX_ERROR_BODY ? `${text.slice(0, MAX_ERROR_BODY)}…` : text.trim(), res.headers['retry-after']);
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
    this.http.close();
  }
}
