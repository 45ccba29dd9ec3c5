/**
 * Uploads dashboards to a running Grafana through its HTTP API, for teams that
 * do not mount provisioning/: ensure the folder, then POST each dashboard with
 * overwrite. Authenticates with a service-account token that never appears in
 * messages, even when Grafana echoes it back.
 */
import type { JsonObject } from './build.js';

export interface PushOptions {
  /** Grafana base URL, e.g. http://grafana:3000 (a sub-path is kept). */
  url: string;
  /** Service-account token (Bearer). */
  token: string;
  /** Folder title; its uid is derived from it. */
  folder?: string;
  dashboards: ReadonlyMap<string, JsonObject>;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface PushResult {
  file: string;
  uid: string;
  /** Grafana's URL path of the stored dashboard. */
  url?: string;
  version?: number;
}

export class GrafanaPushError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GrafanaPushError';
  }
}

/** A folder uid from its title: Grafana allows [a-zA-Z0-9-_], at most 40 characters. */
export function folderUid(title: string): string {
  const slug = title
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return slug || 'vigil';
}

export function parseGrafanaUrl(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new GrafanaPushError(`--url is not a URL: "${raw}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new GrafanaPushError(`--url must be http or https, got ${u.protocol}`);
  if (u.username || u.password) throw new GrafanaPushError('--url must not carry credentials; set GRAFANA_TOKEN instead');
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u;
}

export async function pushDashboards(opts: PushOptions): Promise<PushResult[]> {
  if (!opts.token) throw new GrafanaPushError('no Grafana token: set GRAFANA_TOKEN to a service-account token');
  const base = parseGrafanaUrl(opts.url);
  const doFetch = opts.fetch ?? fetch;
  const redact = (s: string) => s.split(opts.token).join('<token>');

  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    const target = new URL(path, base);
    let res: Response;
    try {
      res = await doFetch(target, {
        method,
        headers: {
          authorization: `Bearer ${opts.token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
        redirect: 'error',
      });
    } catch (err) {
      throw new GrafanaPushError(redact(`${method} ${target.pathname}: ${(err as Error).message}`));
    }
    const text = await readBounded(res, 64 * 1024);
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.status >= 400 && !(method === 'GET' && res.status === 404)) {
      const msg = json && typeof json === 'object' && 'message' in json ? String((json as { message: unknown }).message) : text.slice(0, 200);
      const hint = res.status === 401 || res.status === 403 ? ' (check GRAFANA_TOKEN and its role: Editor or folder write access)' : '';
      throw new GrafanaPushError(redact(`${method} ${target.pathname}: HTTP ${res.status}: ${msg}${hint}`));
    }
    return { status: res.status, json };
  };

  const title = opts.folder ?? 'Vigil';
  const uid = folderUid(title);
  const existing = await call('GET', `api/folders/${encodeURIComponent(uid)}`);
  if (existing.status === 404) await call('POST', 'api/folders', { uid, title });

  const results: PushResult[] = [];
  for (const [file, dash] of opts.dashboards) {
    const res = await call('POST', 'api/dashboards/db', {
      dashboard: { ...dash, id: null },
      folderUid: uid,
      overwrite: true,
      message: 'vigil dashboards push',
    });
    const j = (res.json ?? {}) as { uid?: string; url?: string; version?: number };
    results.push({ file, uid: j.uid ?? String(dash.uid), url: j.url, version: j.version });
  }
  return results;
}

/** Reads at most `limit` bytes: an error page the size of a film is no reason to run out of memory. */
async function readBounded(res: Response, limit: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => undefined);
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
