/**
 * Notification benchmarks: (1) time from a firing alert handed to the
 * notifier to the Slack request arriving (group_wait 0), beside the real
 * Alertmanager doing the same; (2) notifications per second through the whole
 * pipeline with 10k active alerts in 500 groups.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { parseAlertmanagerConfig } from '../src/alerts/notify/config.js';
import { createNotifier } from '../src/alerts/notify/index.js';
import type { Alert } from '../src/alerts/types.js';
import { silentLogger } from '../src/logger.js';
import { freePort, waitFor } from '../test/helpers/net.js';
import { anchorBinary, measured, notRun, ratioCell } from './anchor.js';
import { startSlackStandIn, type SlackStandIn } from '../test/helpers/slack.js';
import type { BenchTable } from './table.js';

const amConfig = (slackUrl: string, groupWait: string, groupBy = "['alertname']") => `
global: { slack_api_url: '${slackUrl}' }
route:
  receiver: slack
  group_by: ${groupBy}
  group_wait: ${groupWait}
  group_interval: 1h
  repeat_interval: 4h
receivers:
  - name: slack
    slack_configs: [{ channel: '#bench', send_resolved: false }]
`;

function firing(labels: Record<string, string>): Alert {
  const now = Date.now();
  return { labels, annotations: { summary: 'bench' }, startsAt: new Date(now), endsAt: new Date(now + 3600_000) };
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function waitCount(slack: SlackStandIn, n: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(() => slack.received.length >= n, timeoutMs, 1);
}

async function vigilLatency(runs: number): Promise<number[]> {
  const slack = await startSlackStandIn();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
  const n = await createNotifier({ config: parseAlertmanagerConfig(amConfig(slack.url, '0s')), dataDir: dir, registry: new Registry(), logger: silentLogger(), externalUrl: 'http://v' });
  await n.start();
  const out: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await n.send([firing({ alertname: `Latency${i}`, severity: 'critical' })]);
      await waitCount(slack, i + 1);
      out.push(performance.now() - t0);
    }
  } finally {
    await n.stop();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/** prometheus-alertmanager, the anchor of the notification latency. */
export function alertmanagerAnchor(): { path: string } | { reason: string } {
  return anchorBinary('prometheus-alertmanager', 'prometheus-alertmanager');
}

async function alertmanagerLatency(runs: number): Promise<number[] | undefined> {
  const anchor = alertmanagerAnchor();
  if ('reason' in anchor) return undefined;
  const bin = anchor.path;
  const slack = await startSlackStandIn();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-am-'));
  writeFileSync(join(dir, 'am.yml'), amConfig(slack.url, '0s'));
  const port = await freePort();
  const proc = spawn(bin, [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const out: number[] = [];
  try {
    await waitFor(async () => (await fetch(`${url}/-/ready`)).ok, 20_000, 50);
    for (let i = 0; i < runs; i++) {
      const now = new Date();
      const t0 = performance.now();
      await fetch(`${url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ labels: { alertname: `Latency${i}`, severity: 'critical' }, startsAt: now.toISOString(), endsAt: new Date(+now + 3600_000).toISOString() }]),
      });
      await waitCount(slack, i + 1);
      out.push(performance.now() - t0);
    }
  } finally {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

async function throughput(alerts: number, groups: number): Promise<{ seconds: number; notifications: number; ingestMs: number }> {
  const slack = await startSlackStandIn();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
  const n = await createNotifier({ config: parseAlertmanagerConfig(amConfig(slack.url, '0s')), dataDir: dir, registry: new Registry(), logger: silentLogger(), externalUrl: 'http://v' });
  await n.start();
  try {
    const batch: Alert[] = [];
    for (let i = 0; i < alerts; i++) batch.push(firing({ alertname: `Group${i % groups}`, instance: `host-${i}:9100`, severity: i % 3 ? 'warning' : 'critical' }));
    const t0 = performance.now();
    for (let i = 0; i < batch.length; i += 1000) await n.send(batch.slice(i, i + 1000));
    const ingestMs = performance.now() - t0;
    await waitCount(slack, groups, 120_000);
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, notifications: slack.received.length, ingestMs };
  } finally {
    await n.stop();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function bench(): Promise<BenchTable[]> {
  const runs = 20;
  const v = await vigilLatency(runs);
  const am = await alertmanagerLatency(runs);
  const rows: Array<Array<string | number>> = [['Vigil', String(runs), quantile(v, 0.5), quantile(v, 0.95), Math.max(...v)]];
  if (am) rows.push(['Alertmanager 0.25 (Debian)', String(runs), quantile(am, 0.5), quantile(am, 0.95), Math.max(...am)]);
  const tp = await throughput(10_000, 500);
  const missing = alertmanagerAnchor();
  const amMeasured = am ? measured(quantile(am, 0.5), 'Alertmanager delivered nothing') : notRun('reason' in missing ? missing.reason : 'Alertmanager did not deliver');
  return [
    {
      title: 'Firing alert to Slack request (group_wait 0)',
      columns: ['system', 'runs', 'median ms', 'p95 ms', 'max ms'],
      rows,
      notes: [
        'Slack is a loopback HTTP stand-in; each run is a new group, so nothing waits for group_interval.',
        'Vigil: from notifier.send() (in-process, as the rule evaluator calls it); Alertmanager: from POST /api/v2/alerts.',
        `Vigil / Alertmanager, median: ${ratioCell(quantile(v, 0.5), amMeasured)}`,
      ],
    },
    {
      title: 'Pipeline throughput: 10,000 active alerts in 500 groups',
      columns: ['alerts', 'groups', 'ingest ms', 'all sent s', 'notifications/s'],
      rows: [[10_000, '500', tp.ingestMs, tp.seconds, tp.notifications / tp.seconds]],
      notes: [
        'Route, group, inhibit, silence, dedup against the file-backed notification log, Slack send, record; group_wait 0.',
        'Each notification is one Slack POST to a loopback stand-in with 20 alerts in Block Kit.',
      ],
    },
  ];
}
