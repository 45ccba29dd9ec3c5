/**
 * A loopback HTTP server speaking the parts of Elasticsearch's REST protocol
 * the official client and log shippers use: product header and version info on
 * `GET /`, `_bulk` NDJSON with per-item statuses (create conflicts 409 by _id),
 * index templates, ILM policies and data streams. Faults are programmable: a
 * share of items answered 429, whole requests answered 429/503, connection
 * resets, slow responses, mapping rejections. Stored documents are kept by
 * index and _id so tests can assert exactly-once delivery.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type StandInMode = 'up' | 'unavailable' | 'too_many_requests' | 'reset';

export interface StoredDoc {
  index: string;
  id: string;
  /** The document line as sent (or its projection, see `project`). */
  source: string;
}

export interface StandInStats {
  bulkRequests: number;
  items: number;
  created: number;
  conflicts: number;
  itemRejections429: number;
  requestRejections: number;
  mappingRejections: number;
}

/**
 * Elasticsearch's `filter_path` response filtering, for the paths clients
 * send (dotted names, `*` for any one name): keys outside every path are
 * dropped, and so are objects and array elements left empty.
 */
export function filterPath(value: unknown, paths: string[][]): unknown {
  if (Array.isArray(value)) {
    const kept = value.map((v) => filterPath(v, paths)).filter((v) => v !== undefined);
    return kept.length ? kept : undefined;
  }
  if (value === null || typeof value !== 'object') return paths.some((p) => p.length === 0) ? value : undefined;
  if (paths.some((p) => p.length === 0)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const rest = paths.filter((p) => p[0] === '*' || p[0] === k).map((p) => p.slice(1));
    if (!rest.length) continue;
    const f = filterPath(v, rest);
    if (f !== undefined) out[k] = f;
  }
  return Object.keys(out).length ? out : undefined;
}

const compiledPatterns = new Map<string, RegExp>();

/** An index pattern (`logs-*`) as a regular expression, compiled once: bulk items ask for every document. */
function patternRegExp(pattern: string): RegExp {
  let re = compiledPatterns.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    compiledPatterns.set(pattern, re);
  }
  return re;
}

export class ElasticsearchStandIn {
  private server?: Server;
  private sockets = new Set<Socket>();
  private seed = 12345;
  port = 0;
  /** index -> _id -> document. */
  readonly indices = new Map<string, Map<string, StoredDoc>>();
  readonly templates = new Map<string, unknown>();
  readonly ilmPolicies = new Map<string, unknown>();
  readonly dataStreams = new Set<string>();
  readonly stats: StandInStats = { bulkRequests: 0, items: 0, created: 0, conflicts: 0, itemRejections429: 0, requestRejections: 0, mappingRejections: 0 };

  /** Whole-request behaviour. */
  mode: StandInMode = 'up';
  /** Share (0..1) of bulk items answered 429, drawn from a seeded PRNG. */
  itemRejectRate = 0;
  /** Answer this many upcoming requests with `failStatus` before behaving again. */
  failNext = 0;
  failStatus = 503;
  /** Delay before answering each bulk request (after storing: a timed-out request may still have stored). */
  delayMs = 0;
  /** 403 on template and ILM endpoints, like a user without manage privileges. */
  forbidSetup = false;
  /** Mapping rejection: return a reason to answer 400 mapper_parsing_exception. */
  rejectDoc?: (source: string) => string | undefined;
  /** What to keep of each document (memory for very large tests). */
  project: (source: string) => string = (s) => s;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  docs(index: string): Map<string, StoredDoc> {
    let m = this.indices.get(index);
    if (!m) this.indices.set(index, (m = new Map()));
    return m;
  }

  count(index: string): number {
    return this.indices.get(index)?.size ?? 0;
  }

  private random(): number {
    // mulberry32: reproducible fault patterns across runs
    let t = (this.seed += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  private send(res: ServerResponse, status: number, body: unknown, filter?: string | null): void {
    const text = JSON.stringify(filter ? (filterPath(body, filter.split(',').map((p) => p.split('.'))) ?? {}) : body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-elastic-product': 'Elasticsearch',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  private error(res: ServerResponse, status: number, type: string, reason: string): void {
    this.send(res, status, { error: { root_cause: [{ type, reason }], type, reason }, status });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const parts = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';

    if (this.mode === 'reset') {
      req.socket.destroy();
      return;
    }
    if (this.mode === 'unavailable' || this.mode === 'too_many_requests' || this.failNext > 0) {
      const status = this.failNext > 0 ? this.failStatus : this.mode === 'unavailable' ? 503 : 429;
      if (this.failNext > 0) this.failNext--;
      this.stats.requestRejections++;
      this.error(res, status, status === 429 ? 'es_rejected_execution_exception' : 'unavailable_shards_exception', 'injected failure');
      return;
    }

    if (parts.length === 0) {
      if (method === 'HEAD') {
        res.writeHead(200, { 'x-elastic-product': 'Elasticsearch' }).end();
        return;
      }
      this.send(res, 200, {
        name: 'stand-in',
        cluster_name: 'vigil-test',
        cluster_uuid: 'vigil-test-uuid',
        version: {
          number: '8.15.0',
          build_flavor: 'default',
          build_type: 'tar',
          lucene_version: '9.11.1',
          minimum_wire_compatibility_version: '7.17.0',
          minimum_index_compatibility_version: '7.0.0',
        },
        tagline: 'You Know, for Search',
      });
      return;
    }
    if (parts[parts.length - 1] === '_bulk' && (method === 'POST' || method === 'PUT')) {
      await this.bulk(res, body, parts.length === 2 ? decodeURIComponent(parts[0]) : undefined, url.searchParams.get('filter_path'));
      return;
    }
    if (parts[0] === '_index_template' && parts[1]) {
      if (this.forbidSetup) return this.error(res, 403, 'security_exception', 'action [indices:admin/index_template/put] is unauthorized');
      if (method === 'PUT' || method === 'POST') this.templates.set(parts[1], JSON.parse(body || '{}'));
      else if (!this.templates.has(parts[1])) return this.error(res, 404, 'resource_not_found_exception', 'no such template');
      if (method === 'GET') return this.send(res, 200, { index_templates: [{ name: parts[1], index_template: this.templates.get(parts[1]) }] });
      return this.send(res, 200, { acknowledged: true });
    }
    if (parts[0] === '_ilm' && parts[1] === 'policy' && parts[2]) {
      if (this.forbidSetup) return this.error(res, 403, 'security_exception', 'action [cluster:admin/ilm/put] is unauthorized');
      if (method === 'PUT') this.ilmPolicies.set(parts[2], JSON.parse(body || '{}'));
      else if (!this.ilmPolicies.has(parts[2])) return this.error(res, 404, 'resource_not_found_exception', 'no such policy');
      if (method === 'GET') return this.send(res, 200, { [parts[2]]: { policy: (this.ilmPolicies.get(parts[2]) as { policy?: unknown })?.policy } });
      return this.send(res, 200, { acknowledged: true });
    }
    if (parts[0] === '_data_stream') {
      if (method === 'PUT' && parts[1]) {
        this.dataStreams.add(parts[1]);
        return this.send(res, 200, { acknowledged: true });
      }
      return this.send(res, 200, { data_streams: [...this.dataStreams].map((name) => ({ name, timestamp_field: { name: '@timestamp' } })) });
    }
    this.error(res, 404, 'resource_not_found_exception', `no handler for ${method} ${url.pathname}`);
  }

  private matchesDataStreamTemplate(index: string): boolean {
    for (const t of this.templates.values()) {
      const tt = t as { index_patterns?: string[]; data_stream?: unknown };
      if (!tt.data_stream) continue;
      for (const p of tt.index_patterns ?? []) {
        if (patternRegExp(p).test(index)) return true;
      }
    }
    return false;
  }

  private async bulk(res: ServerResponse, body: string, pathIndex: string | undefined, filter: string | null): Promise<void> {
    this.stats.bulkRequests++;
    const lines = body.split('\n');
    const items: unknown[] = [];
    let errors = false;
    let i = 0;
    while (i < lines.length) {
      const line = lines[i++];
      if (!line) continue;
      let action: Record<string, { _index?: string; _id?: string }>;
      try {
        action = JSON.parse(line) as typeof action;
      } catch {
        return this.error(res, 400, 'illegal_argument_exception', `Malformed action/metadata line [${i}]`);
      }
      const op = Object.keys(action)[0];
      const meta = action[op] ?? {};
      const index = meta._index ?? pathIndex;
      if (!index) return this.error(res, 400, 'action_request_validation_exception', 'index is missing');
      const source = op === 'delete' ? '' : (lines[i++] ?? '');
      const id = meta._id ?? `auto-${this.stats.items}`;
      this.stats.items++;
      if (op === 'create' || op === 'index') {
        if (this.itemRejectRate > 0 && this.random() < this.itemRejectRate) {
          errors = true;
          this.stats.itemRejections429++;
          items.push({ [op]: { _index: index, _id: id, status: 429, error: { type: 'es_rejected_execution_exception', reason: 'rejected execution (injected)' } } });
          continue;
        }
        const reason = this.rejectDoc?.(source);
        if (reason) {
          errors = true;
          this.stats.mappingRejections++;
          items.push({ [op]: { _index: index, _id: id, status: 400, error: { type: 'document_parsing_exception', reason } } });
          continue;
        }
        const docs = this.docs(index);
        if (op === 'create' && docs.has(id)) {
          errors = true;
          this.stats.conflicts++;
          items.push({
            create: {
              _index: index,
              _id: id,
              status: 409,
              error: { type: 'version_conflict_engine_exception', reason: `[${id}]: version conflict, document already exists (current version [1])`, index },
            },
          });
          continue;
        }
        if (this.matchesDataStreamTemplate(index)) this.dataStreams.add(index);
        docs.set(id, { index, id, source: this.project(source) });
        this.stats.created++;
        items.push({ [op]: { _index: index, _id: id, _version: 1, result: 'created', status: 201, _seq_no: this.stats.created, _primary_term: 1 } });
      } else {
        errors = true;
        items.push({ [op]: { _index: index, _id: id, status: 400, error: { type: 'illegal_argument_exception', reason: `unsupported op ${op}` } } });
      }
    }
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    this.send(res, 200, { took: 1, errors, items }, filter);
  }
}
