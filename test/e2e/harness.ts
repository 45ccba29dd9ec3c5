/**
 * Shared pieces of the end-to-end tests: a temp directory holding a generated
 * vigil.yml and rule files, Vigil started from it with startVigil on a free
 * loopback port, and small clients for its HTTP API.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { startVigil, type Vigil } from '../../src/main.js';

export interface E2EDir {
  dir: string;
  configFile: string;
  /** Writes a file relative to the directory (YAML-stringifies objects). */
  write(rel: string, content: string | object): string;
  /** Starts Vigil on the directory's vigil.yml (data dir `data/` inside it). */
  start(): Promise<Vigil>;
  remove(): void;
}

export function e2eDir(prefix: string): E2EDir {
  const dir = mkdtempSync(join(tmpdir(), `vigil-e2e-${prefix}-`));
  const configFile = join(dir, 'vigil.yml');
  const write = (rel: string, content: string | object): string => {
    const file = join(dir, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, typeof content === 'string' ? content : stringify(content));
    return file;
  };
  return {
    dir,
    configFile,
    write,
    start: () => startVigil(loadConfig(configFile), { logger: silentLogger(), listen: '127.0.0.1:0' }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The base of every generated vigil.yml: short intervals, data in the temp dir, own logs not shipped. */
export function baseConfig(o: { scrapeInterval?: string; evaluationInterval?: string } = {}): Record<string, unknown> {
  const scrape = o.scrapeInterval ?? '500ms';
  return {
    global: { scrape_interval: scrape, scrape_timeout: scrape, evaluation_interval: o.evaluationInterval ?? '500ms' },
    server: { listen: '127.0.0.1:0' },
    storage: { path: 'data', retention: '1h' },
    logs: { self: false },
  };
}

export interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

export async function getJson<T = any>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Active alerts from GET /api/v1/alerts. */
export async function apiAlerts(vigilUrl: string, alertname?: string): Promise<ApiAlert[]> {
  const body = await getJson<{ data: { alerts: ApiAlert[] } }>(`${vigilUrl}/api/v1/alerts`);
  return body.data.alerts.filter((a) => !alertname || a.labels.alertname === alertname);
}

/** Instant query through the Prometheus-compatible API. */
export async function instantQuery(vigilUrl: string, query: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const body = await getJson<{ data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }>(
    `${vigilUrl}/api/v1/query?query=${encodeURIComponent(query)}`,
  );
  return body.data.result;
}

export function post(url: string, body?: unknown, token?: string, contentType = 'application/json'): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = contentType;
  return fetch(url, { method: 'POST', headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
