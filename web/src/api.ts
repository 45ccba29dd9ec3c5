/** Calls to Vigil's own API (same origin only); write calls carry the session's anti-forgery header. */

export interface SessionInfo {
  authRequired: boolean;
  signedIn: boolean;
  csrfToken: string | null;
}

let current: SessionInfo = { authRequired: false, signedIn: false, csrfToken: null };
const listeners = new Set<(s: SessionInfo) => void>();

export function sessionInfo(): SessionInfo {
  return current;
}

export function onSession(fn: (s: SessionInfo) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function setSession(s: SessionInfo): void {
  current = s;
  for (const fn of listeners) fn(s);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body === 'string') return new ApiError(res.status, body);
    if (body && typeof body === 'object' && 'error' in body) return new ApiError(res.status, String((body as { error: unknown }).error));
  } catch {
    // not JSON: the text itself
  }
  return new ApiError(res.status, text || `HTTP ${res.status}`);
}

export function query(params: Record<string, string | string[] | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin', signal });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

/** The `data` of a Prometheus-shaped answer. */
export async function getData<T>(path: string, signal?: AbortSignal): Promise<T> {
  return (await getJson<{ data: T }>(path, signal)).data;
}

export async function send<T>(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<T | undefined> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (current.csrfToken) headers['x-vigil-csrf'] = current.csrfToken;
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw await errorOf(res);
  const text = await res.text();
  return text ? (JSON.parse(text) as T) : undefined;
}

export async function loadSession(): Promise<SessionInfo> {
  setSession(await getData<SessionInfo>('/api/v1/session'));
  return current;
}

export async function signIn(token: string): Promise<void> {
  setSession((await send<{ data: SessionInfo }>('POST', '/api/v1/session', { token }))!.data);
}

export async function signOut(): Promise<void> {
  setSession((await send<{ data: SessionInfo }>('DELETE', '/api/v1/session'))!.data);
}
