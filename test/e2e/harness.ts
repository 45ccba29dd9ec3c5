/**
 * Shared pieces of the end-to-end tests: a temp directory holding a generated
 * vigil.yml and rule files, Vigil started from it with startVigil on a free
 * loopback port, and small clients for its HTTP API.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseDuration } from '../../src/model/duration.js';
import { interpolateEnv } from '../../src/config/interpolate.js';
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

/**
 * Vigil's own scrape job for a Vigil started inside the test runner: its
 * process metrics there describe the whole test worker (every file the worker
 * ran, every server the tests started), not Vigil, so the shipped rules on
 * them (HighMemoryUsage above 400 MB, HighCPUUsage above 80%) would page for
 * the runner. Vigil fills in its own address.
 */
export const RUNNER_SELF_JOB = {
  job_name: 'vigil',
  static_configs: [{ targets: ['127.0.0.1:9'] }],
  metric_relabel_configs: [{ source_labels: ['__name__'], regex: 'process_(resident_memory_bytes|cpu_seconds_total)', action: 'drop' }],
};

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

/**
 * The shipped rule and notification files with every duration scaled by
 * `factor` (`for`, `keep_firing_for`, range windows, group_wait and
 * group_interval): the same expressions, routes, inhibitions and templates,
 * on a time scale a test can wait for.
 */
export function scaleDuration(d: string, factor: number): string {
  return `${Math.max(1, Math.round(parseDuration(d) * factor))}ms`;
}

export function scaledRuleFile(file: string, factor: number): string {
  const doc = parse(readFileSync(file, 'utf8')) as { groups: Array<{ rules: Array<Record<string, unknown>> }> };
  for (const g of doc.groups) {
    for (const r of g.rules) {
      for (const k of ['for', 'keep_firing_for']) if (typeof r[k] === 'string') r[k] = scaleDuration(r[k] as string, factor);
      r.expr = String(r.expr).replace(/\[(\d+[smhdwy])\]/g, (_, d: string) => `[${scaleDuration(d, factor)}]`);
    }
  }
  return stringify(doc);
}

/**
 * `minMs` floors group_wait and group_interval: an alert that reaches the
 * notifier later than group_wait after it started is flushed at once (as in
 * Alertmanager), so group_wait must stay well above the evaluation delay the
 * test machine can add, as 10s is above it in production.
 */
export function scaledAlertmanagerFile(file: string, env: Record<string, string>, factor: number, minMs = 0): string {
  const r = interpolateEnv(readFileSync(file, 'utf8'), env);
  if (r.errors.length) throw new Error(r.errors.map((e) => e.message).join('; '));
  const doc = parse(r.text) as { route: Record<string, unknown> };
  for (const k of ['group_wait', 'group_interval']) {
    if (typeof doc.route[k] === 'string') doc.route[k] = `${Math.max(minMs, parseDuration(scaleDuration(doc.route[k] as string, factor)))}ms`;
  }
  return stringify(doc);
}

export interface V2Alert {
  labels: Record<string, string>;
  fingerprint: string;
  status: { state: string; inhibitedBy: string[]; silencedBy: string[] };
}

/** Alerts as the notifier shows them (GET /api/v2/alerts), inhibited ones included. */
export async function v2Alerts(vigilUrl: string): Promise<V2Alert[]> {
  return getJson<V2Alert[]>(`${vigilUrl}/api/v2/alerts`);
}

/** A loopback HTTP receiver for webhook notifications. */
export async function startWebhookStandIn(): Promise<{ url: string; received: unknown[]; close(): Promise<void> }> {
  const received: unknown[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body || 'null'));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/webhook`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
