import type { ElasticsearchConfig } from '../config/logs.js';
import type { Logger } from '../logger.js';
import { KeepAliveClient, type HttpResponse } from '../util/keep-alive-http.js';
import { tlsOptions } from '../util/tls-options.js';
import { BULK_CREATE_HEAD, BULK_CREATE_TAIL, EncodedEvent, type LogEvent } from './event.js';
import type { LogMetrics } from './metrics.js';
import type { Sink } from './sink.js';

interface BulkItem {
  status: number;
  error?: { type?: string; reason?: string };
}

/** The ILM policy matching the documented retention (delete after N days), rolling over daily. */
export function ilmPolicy(retentionMs: number): Record<string, unknown> {
  return {
    phases: {
      hot: { actions: { rollover: { max_age: '1d', max_primary_shard_size: '50gb' } } },
      delete: { min_age: `${Math.max(1, Math.round(retentionMs / 1000))}s`, actions: { delete: {} } },
    },
  };
}

/** Index template turning `<data_stream>` into a data stream with ECS-friendly mappings. */
export function indexTemplate(dataStream: string, policy: string): Record<string, unknown> {
  return {
    index_patterns: [`${dataStream}*`],
    data_stream: {},
    priority: 200,
    template: {
      settings: { 'index.lifecycle.name': policy },
      mappings: {
        dynamic_templates: [{ labels: { path_match: 'labels.*', mapping: { type: 'keyword', ignore_above: 1024 } } }],
        properties: {
          '@timestamp': { type: 'date' },
          message: { type: 'match_only_text' },
          'event.original': { type: 'keyword', index: false, doc_values: false },
          'log.level': { type: 'keyword' },
          'service.name': { type: 'keyword' },
          'trace.id': { type: 'keyword' },
          'span.id': { type: 'keyword' },
          'client.ip': { type: 'ip', ignore_malformed: true },
          'event.duration': { type: 'long' },
          'http.response.status_code': { type: 'long' },
          'error.stack_trace': { type: 'wildcard' },
        },
      },
    },
    _meta: { managed_by: 'vigil' },
  };
}

/**
 * What a bulk response needs to carry back: per item only its status and any
 * error (the positions still line up, as every item has a status). A full
 * item is several times larger, and reading thousands of them per request
 * was a busy shipper's largest cost outside the mapping.
 */
export const BULK_FILTER_PATH = 'took,errors,items.*.status,items.*.error';

/** The start of a bulk response with no item errors (Elasticsearch 7 and 8 key orders). */
const BULK_OK = /^\{\s*(?:"took"\s*:\s*\d+\s*,\s*"errors"\s*:\s*false|"errors"\s*:\s*false\s*,\s*"took"\s*:\s*\d+)\s*,\s*"items"\s*:/;

/** An error body is quoted in messages up to this many characters. */
const MAX_ERROR_TEXT = 512;

interface BulkResponse {
  errors: boolean;
  items: Array<Record<string, BulkItem | undefined>>;
}

/** A whole request answered with a non-2xx status. */
export class ElasticsearchResponseError extends Error {
  override name = 'ResponseError';
  constructor(
    readonly status: number,
    text: string,
  ) {
    super(`HTTP ${status}: ${text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}…` : text.trim()}`);
  }
}

/**
 * The parsed bulk response. One without item errors carries nothing we use:
 * its thousands of items are not parsed (a large share of a busy shipper's
 * garbage otherwise).
 */
function bulkResponse(res: HttpResponse): BulkResponse {
  if (res.status < 200 || res.status >= 300) throw new ElasticsearchResponseError(res.status, res.body.toString('utf8'));
  // A cut body may have lost item errors: the whole batch is sent again (stored items answer 409).
  if (!res.complete) throw new Error(`bulk response ended early (${res.body.length} bytes read)`);
  if (BULK_OK.test(res.body.toString('latin1', 0, 128))) return { errors: false, items: [] };
  return JSON.parse(res.body.toString('utf8')) as BulkResponse;
}

/** The Authorization header the config asks for: an API key, else basic credentials from the config or the URL. */
export function authorization(cfg: ElasticsearchConfig, url: URL): string | undefined {
  if (cfg.api_key) return `ApiKey ${cfg.api_key}`;
  if (cfg.username) return `Basic ${Buffer.from(`${cfg.username}:${cfg.password ?? ''}`).toString('base64')}`;
  if (url.username) return `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  return undefined;
}

/** One node's base URL (no credentials, no trailing slash) and its request headers. */
interface Node {
  base: string;
  headers: Record<string, string>;
}

function node(cfg: ElasticsearchConfig, raw: string): Node {
  const url = new URL(raw);
  const auth = authorization(cfg, url);
  url.username = '';
  url.password = '';
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'Vigil' };
  if (auth) headers.authorization = auth;
  return { base: url.href.replace(/\/+$/, ''), headers };
}

/**
 * Bulk body buffers kept for the next requests. Each body is megabytes of
 * memory outside the JavaScript heap; allocated afresh per request, that
 * external memory alone brings a full garbage collection every few dozen
 * requests.
 */
class BodyBuffers {
  private free: Buffer[] = [];

  /** A buffer of at least `bytes` (contents undefined). */
  take(bytes: number): Buffer {
    const i = this.free.findIndex((b) => b.length >= bytes);
    if (i >= 0) return this.free.splice(i, 1)[0];
    // Room to grow: the next batches are usually about as large.
    return Buffer.allocUnsafeSlow(Math.ceil(bytes * 1.25));
  }

  /** `body` (a view of a taken buffer) is no longer read by anyone. */
  give(body: Buffer): void {
    // Bounded: as many as requests in flight plus one are ever useful.
    if (this.free.length < 4) this.free.push(Buffer.from(body.buffer));
  }
}

/** Appends one bulk `create` action and its document to `buf` at `off`; returns the new offset. */
function writeItem(buf: Buffer, off: number, e: LogEvent): number {
  off += buf.write(BULK_CREATE_HEAD, off, 'latin1');
  off += buf.write(e.id, off, 'utf8');
  off += buf.write(BULK_CREATE_TAIL, off, 'latin1');
  off += buf.write(e.json, off, 'utf8');
  buf[off++] = 10;
  return off;
}

function isRetryable(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * Ships batches to Elasticsearch with `_bulk` `create` actions into a data
 * stream. Per item: 2xx and 409 (already stored under this _id) are delivered,
 * 429/5xx are retried, other rejections (mapping errors) go to the dead-letter
 * index with their reason; nothing is dropped without a metric and a log line.
 */
export class ElasticsearchSink implements Sink {
  readonly name = 'elasticsearch';
  private readonly http: KeepAliveClient;
  private readonly nodes: Node[];
  private nextNode = 0;
  private readonly bodies = new BodyBuffers();

  constructor(
    private readonly cfg: ElasticsearchConfig,
    private readonly metrics: LogMetrics,
    private readonly logger: Logger,
  ) {
    // Retries are the queue's (per item, with backoff and spooling), never the client's.
    this.http = new KeepAliveClient({ timeoutMs: cfg.request_timeout, tls: tlsOptions({ insecure_skip_verify: cfg.tls_insecure }) });
    this.nodes = cfg.urls.map((u) => node(cfg, u));
  }

  /** Sends one request to the next node in turn (spreading load and stepping past a node that is down). */
  private request(method: string, path: string, body: Uint8Array | undefined, contentType: string): Promise<HttpResponse> {
    const n = this.nodes[this.nextNode];
    this.nextNode = (this.nextNode + 1) % this.nodes.length;
    return this.http.request(new URL(n.base + path), { method, headers: body ? { ...n.headers, 'content-type': contentType } : n.headers, body, keep: () => Infinity });
  }

  /** PUTs one JSON document; throws on a non-2xx answer. */
  private async put(path: string, doc: unknown): Promise<void> {
    const res = await this.request('PUT', path, Buffer.from(JSON.stringify(doc)), 'application/json');
    if (res.status < 200 || res.status >= 300) throw new ElasticsearchResponseError(res.status, res.body.toString('utf8'));
  }

  private bulk(index: string, body: Uint8Array): Promise<HttpResponse> {
    return this.request('POST', `/${encodeURIComponent(index)}/_bulk?filter_path=${BULK_FILTER_PATH}`, body, 'application/x-ndjson');
  }

  async start(): Promise<void> {
    if (!this.cfg.setup) return;
    const policy = `vigil-${this.cfg.data_stream}`;
    try {
      await this.put(`/_ilm/policy/${encodeURIComponent(policy)}`, { policy: ilmPolicy(this.cfg.retention) });
      await this.put(`/_index_template/${encodeURIComponent(policy)}`, indexTemplate(this.cfg.data_stream, policy));
      this.logger.info({ data_stream: this.cfg.data_stream, policy }, 'elasticsearch index template and ILM policy installed');
    } catch (err) {
      const status = err instanceof ElasticsearchResponseError ? err.status : undefined;
      // Without the privilege the cluster's own templates apply; shipping still works.
      if (status === 403) this.logger.warn({ status }, 'not permitted to install the index template / ILM policy; continuing');
      else this.logger.warn({ err: (err as Error).message }, 'could not install the index template / ILM policy; continuing');
    }
  }

  /**
   * The NDJSON bulk body, encoded straight into one Buffer (sized for the worst
   * case of 3 bytes per UTF-16 unit): no per-operation serialisation and no
   * multi-megabyte intermediate string for the garbage collector. Events that
   * arrive as bulk items already (EncodedEvent) are copied, one copy per run
   * of consecutive items in one slab.
   */
  private body(events: LogEvent[]): Buffer {
    let size = 0;
    for (const e of events) size += e instanceof EncodedEvent ? e.end - e.start : (e.id.length + e.json.length + 24) * 3;
    const buf = this.bodies.take(size);
    let off = 0;
    for (let i = 0; i < events.length; ) {
      const e = events[i++];
      if (!(e instanceof EncodedEvent)) {
        off = writeItem(buf, off, e);
        continue;
      }
      let end = e.end;
      for (; i < events.length; i++) {
        const n = events[i];
        if (!(n instanceof EncodedEvent) || n.slab !== e.slab || n.start !== end) break;
        end = n.end;
      }
      off += e.slab.copy(buf, off, e.start, end);
    }
    return buf.subarray(0, off);
  }

  async send(events: LogEvent[]): Promise<LogEvent[]> {
    const body = this.body(events);
    // Only a request that completed has surely finished reading its body: a failed one's buffer is left to the collector.
    const res = bulkResponse(await this.bulk(this.cfg.data_stream, body));
    this.bodies.give(body);
    if (!res.errors) return [];
    const retry: LogEvent[] = [];
    const rejected: Array<{ event: LogEvent; item: BulkItem }> = [];
    res.items.forEach((it, i) => {
      const item = (it.create ?? it.index) as BulkItem | undefined;
      const ev = events[i];
      if (!item || !ev) return;
      if ((item.status >= 200 && item.status < 300) || item.status === 409) return;
      if (isRetryable(item.status)) retry.push(ev);
      else rejected.push({ event: ev, item });
    });
    if (rejected.length) retry.push(...(await this.deadLetter(rejected)));
    return retry;
  }

  /** Stores rejected events with the reason; returns those to retry. */
  private async deadLetter(rejected: Array<{ event: LogEvent; item: BulkItem }>): Promise<LogEvent[]> {
    const now = new Date().toISOString();
    let ops = '';
    for (const { event, item } of rejected) {
      const doc = JSON.stringify({
        '@timestamp': now,
        error: { type: item.error?.type ?? `http_${item.status}`, message: item.error?.reason ?? `status ${item.status}` },
        event: { original: event.json, kind: 'pipeline_error' },
        vigil: { target: this.cfg.data_stream, status: item.status },
      });
      ops += `${BULK_CREATE_HEAD}${event.id}"}}\n${doc}\n`;
    }
    let res;
    try {
      res = bulkResponse(await this.bulk(this.cfg.dead_letter_index, Buffer.from(ops)));
    } catch {
      return rejected.map((r) => r.event);
    }
    // Without item errors the items are not parsed: every one was stored.
    if (!res.errors) {
      this.metrics.deadLettered.inc(rejected.length);
      return [];
    }
    const retry: LogEvent[] = [];
    res.items.forEach((it, i) => {
      const item = (it.create ?? it.index) as BulkItem | undefined;
      const ev = rejected[i]?.event;
      if (!item || !ev) return;
      if ((item.status >= 200 && item.status < 300) || item.status === 409) this.metrics.deadLettered.inc();
      else if (isRetryable(item.status)) retry.push(ev);
      else {
        this.metrics.dropped.inc({ reason: 'dead_letter_rejected' });
        this.logger.error({ id: ev.id, status: item.status, reason: item.error?.reason }, 'event rejected by both the data stream and the dead-letter index');
      }
    });
    return retry;
  }

  async close(): Promise<void> {
    this.http.close();
  }
}
