/**
 * Real receivers and query backends for the remote tests: VictoriaMetrics
 * (single-node) and Prometheus 2.42 with its remote-write receiver, each on a
 * fixed loopback port and data directory so a test can stop and restart them
 * (a receiver outage) without Vigil's configuration changing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { daemon } from '../helpers/daemon.js';

export interface Engine {
  readonly url: string;
  readonly writeUrl: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  log(): string;
}

export function victoriaMetrics(bin: string, dir: string, port: number, flags: string[] = []): Engine {
  mkdirSync(dir, { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  const d = daemon({
    name: 'victoria-metrics',
    bin,
    args: [
      `-storageDataPath=${dir}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      '-retentionPeriod=100y',
      // As the README advises: a batch in flight when Vigil is killed is sent again after
      // the restart, and only deduplication keeps the repeat out of query answers.
      '-dedup.minScrapeInterval=1ms',
      // Answer queries up to now (the default hides the last 30 s).
      '-search.latencyOffset=0s',
      '-loggerLevel=ERROR',
      ...flags,
    ],
    readyUrl: `${url}/health`,
    readyTimeoutMs: 60_000,
    killAfterMs: 15_000,
  });
  return { url, writeUrl: `${url}/api/v1/write`, ...d };
}

export function prometheusReceiver(bin: string, dir: string, port: number, config = 'global:\n  scrape_interval: 15s\n', flags: string[] = []): Engine {
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, config);
  const url = `http://127.0.0.1:${port}`;
  const d = daemon({
    name: 'prometheus',
    bin,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=100y',
      '--web.enable-remote-write-receiver',
      '--log.level=warn',
      ...flags,
    ],
    readyUrl: `${url}/-/ready`,
    readyTimeoutMs: 60_000,
    killAfterMs: 15_000,
  });
  return { url, writeUrl: `${url}/api/v1/write`, ...d };
}

/** Raw samples per series (key: sorted label pairs) as a backend's query API returns them for `selector[window]`. */
export async function rawSamples(baseUrl: string, selector: string, windowS: number, atMs = Date.now()): Promise<Map<string, Map<number, number>>> {
  const body = new URLSearchParams({ query: `${selector}[${windowS}s]`, time: String(atMs / 1000) });
  const res = await fetch(`${baseUrl}/api/v1/query`, { method: 'POST', body });
  const json = (await res.json()) as { status: string; error?: string; data: { resultType: string; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } };
  if (json.status !== 'success') throw new Error(`${baseUrl}: ${json.error}`);
  const out = new Map<string, Map<number, number>>();
  for (const s of json.data.result) {
    const key = seriesKey(s.metric);
    const m = out.get(key) ?? new Map<number, number>();
    for (const [t, v] of s.values) m.set(Math.round(t * 1000), Number(v));
    out.set(key, m);
  }
  return out;
}

/** VictoriaMetrics' /api/v1/export: every raw sample stored, duplicates included. */
export async function vmExport(baseUrl: string, selector: string): Promise<Map<string, Array<[number, number]>>> {
  await fetch(`${baseUrl}/internal/force_flush`).catch(() => undefined);
  const res = await fetch(`${baseUrl}/api/v1/export?${new URLSearchParams({ 'match[]': selector })}`);
  const text = await res.text();
  const out = new Map<string, Array<[number, number]>>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as { metric: Record<string, string>; values: Array<number | string>; timestamps: number[] };
    const key = seriesKey(o.metric);
    const list = out.get(key) ?? [];
    o.timestamps.forEach((t, i) => list.push([t, Number(o.values[i])]));
    out.set(key, list);
  }
  return out;
}

export function seriesKey(m: Record<string, string>): string {
  return Object.keys(m)
    .sort()
    .map((k) => `${k}=${m[k]}`)
    .join(',');
}
