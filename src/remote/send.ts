/**
 * One HTTP POST of a remote-write body, classified the way Prometheus's
 * queue manager does: 2xx sent; 5xx, 429 and network errors recoverable
 * (retried with backoff, honouring Retry-After); any other status dropped.
 */
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
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
  now?: () => number;
}

const MAX_ERROR_BODY = 512;

class SendTimeout extends Error {
  override name = 'TimeoutError';
}

export async function postWrite(body: Uint8Array, o: SendOptions): Promise<SendOutcome> {
  // One controller per request, with a plain timer and one callback on the
  // queue's signal: AbortSignal.timeout/any per request cost more than the send.
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new SendTimeout()), o.timeoutMs);
  const unlink = o.signal ? onAbort(o.signal, () => ac.abort(o.signal!.reason)) : undefined;
  const signal = ac.signal;
  try {
    return await send(body, o, signal);
  } finally {
    clearTimeout(timer);
    unlink?.();
  }
}

async function send(body: Uint8Array, o: SendOptions, signal: AbortSignal): Promise<SendOutcome> {
  let res: Response;
  try {
    res = await (o.fetchImpl ?? fetch)(o.url, {
      method: 'POST',
      body,
      signal,
      headers: {
        ...o.headers,
        'content-type': 'application/x-protobuf',
        'content-encoding': 'snappy',
        'x-prometheus-remote-write-version': '0.1.0',
        'user-agent': 'Vigil',
      },
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { kind: 'retry', reason: `${e.name === 'TimeoutError' ? 'timeout' : e.message}${e.cause?.code ? ` (${e.cause.code})` : ''}` };
  }
  if (res.status >= 200 && res.status < 300) {
    await res.body?.cancel().catch(() => undefined);
    return { kind: 'sent' };
  }
  const text = await readSome(res);
  const reason = `HTTP ${res.status}: ${text}`;
  if (res.status >= 500 || (res.status === 429 && o.retryOn429)) {
    return { kind: 'retry', reason, retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), o.now?.() ?? Date.now()) };
  }
  return { kind: 'drop', reason };
}

async function readSome(res: Response): Promise<string> {
  try {
    const t = await res.text();
    return t.length > MAX_ERROR_BODY ? `${t.slice(0, MAX_ERROR_BODY)}…` : t.trim();
  } catch {
    return '';
  }
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unusable. */
export function parseRetryAfter(v: string | null, now: number): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
