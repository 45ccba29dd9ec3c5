/**
 * The alert path under hostile targets. Vigil (its default limits; only the
 * intervals are shortened so the run fits in a minute) scrapes four loopback
 * targets: a 100 MB exposition (about 1M series), an endless stream, one that
 * adds 200k new series per scrape, and a planning-API-like target whose error
 * rate makes an alert rule fire to a Slack stand-in; a heavy range query is
 * sent every few seconds. Measured: /-/healthy latency, how late rule
 * evaluations run behind their schedule, time from the alert firing to the
 * Slack stand-in receiving it, peak RSS. Then Prometheus 2.42 scrapes the same
 * targets with the same query load (health latency, RSS).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSlackStandIn, type SlackStandIn } from '../test/helpers/slack.js';
import { findBinary, freePort, sleep } from './parse-helpers.js';
import type { BenchTable } from './table.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUN_MS = Number(process.env.VIGIL_BENCH_ISOLATION_MS ?? 60_000);
const HEALTH_EVERY_MS = 100;
const HEALTH_TIMEOUT_MS = 5000;
const QUERY_EVERY_MS = 3000;
const EVAL_INTERVAL_S = 2;
const SCRAPE_INTERVAL_S = 5;

interface Targets {
  address: string;
  close(): Promise<void>;
}

/** ~100 bytes per line: 1M series make 100 MB. */
function hugeBody(): Buffer {
  const lines: string[] = ['# TYPE huge_metric gauge'];
  const pad = 'x'.repeat(60);
  for (let i = 0; i < 1_000_000; i++) lines.push(`huge_metric{id="${String(i).padStart(7, '0')}",pad="${pad}"} ${i}`);
  return Buffer.from(lines.join('\n') + '\n');
}

function endless(res: ServerResponse): void {
  res.setHeader('content-type', 'text/plain; version=0.0.4');
  let i = 0;
  const pump = () => {
    while (!res.destroyed) {
      const lines: string[] = [];
      for (let k = 0; k < 1000; k++, i++) lines.push(`endless_metric{i="${i}"} ${i}`);
      if (!res.write(lines.join('\n') + '\n')) return void res.once('drain', pump);
    }
  };
  pump();
}

async function startTargets(): Promise<Targets> {
  const huge = hugeBody();
  let churnGen = 0;
  const started = Date.now();
  const server: Server = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    switch (req.url) {
      case '/huge':
        return void res.end(huge);
      case '/endless':
        return endless(res);
      case '/churn': {
        const gen = churnGen++;
        const lines: string[] = [];
        for (let i = 0; i < 200_000; i++) lines.push(`churn_metric{gen="${gen}",id="${i}"} 1`);
        return void res.end(lines.join('\n') + '\n');
      }
      default: {
        // The planning API: 10 requests/s, a fifth of them failing.
        const s = (Date.now() - started) / 1000;
        res.end(
          [
            '# TYPE http_requests_total counter',
            `http_requests_total{method="GET",endpoint="/api/v1/plans",status="200"} ${Math.floor(8 * s)}`,
            `http_requests_total{method="GET",endpoint="/api/v1/plans",status="500"} ${Math.floor(2 * s)}`,
            '',
          ].join('\n'),
        );
      }
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const scrapeConfigs = (address: string) =>
  ['huge', 'endless', 'churn', 'planning']
    .map((j) => `  - job_name: ${j}\n    metrics_path: /${j}\n    static_configs: [{targets: ['${address}']}]`)
    .join('\n');

const RULES = `groups:
  - name: bench
    interval: ${EVAL_INTERVAL_S}s
    rules:
      - alert: HighErrorRate
        expr: sum(rate(http_requests_total{status=~"5.."}[30s])) / sum(rate(http_requests_total[30s])) > 0.05
        labels: {severity: critical}
        annotations: {summary: error rate above 5%}
`;

const HEAVY_QUERY = 'max_over_time(sum by (job) (rate(scrape_duration_seconds[1m]))[10m:1s])';

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function timedGet(url: string): Promise<number> {
  const t0 = performance.now();
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
    await r.arrayBuffer();
  } catch {
    return HEALTH_TIMEOUT_MS;
  }
  return performance.now() - t0;
}

interface RunStats {
  health: number[];
  maxRss: number;
  queries: number[];
}

/** Probes health, samples RSS and sends the heavy query until `ms` have passed. */
async function drive(base: string, pid: number, ms: number, queryPath: string, during?: () => Promise<void>): Promise<RunStats> {
  const stats: RunStats = { health: [], maxRss: 0, queries: [] };
  const end = Date.now() + ms;
  const loops: Array<Promise<void>> = [];
  loops.push(
    (async () => {
      while (Date.now() < end) {
        stats.health.push(await timedGet(`${base}/-/healthy`));
        await sleep(HEALTH_EVERY_MS);
      }
    })(),
  );
  loops.push(
    (async () => {
      while (Date.now() < end) {
        stats.maxRss = Math.max(stats.maxRss, rssMb(pid) || 0);
        await sleep(250);
      }
    })(),
  );
  loops.push(
    (async () => {
      while (Date.now() < end) {
        const now = Date.now() / 1000;
        const q = new URLSearchParams({ query: HEAVY_QUERY, start: String(now - 3600), end: String(now), step: '2' });
        const t0 = performance.now();
        await fetch(`${base}${queryPath}?${q}`, { signal: AbortSignal.timeout(60_000) })
          .then((r) => r.arrayBuffer())
          .catch(() => undefined);
        stats.queries.push(performance.now() - t0);
        await sleep(QUERY_EVERY_MS);
      }
    })(),
  );
  if (during) loops.push(during());
  await Promise.all(loops);
  return stats;
}

async function waitHealthy(base: string, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    if ((await timedGet(`${base}/-/healthy`)) < HEALTH_TIMEOUT_MS) return;
    await sleep(200);
  }
  throw new Error(`${what} did not become healthy`);
}

async function runVigil(targets: Targets, slack: SlackStandIn, dir: string): Promise<{ stats: RunStats; lags: number[]; notifyMs: number | undefined; errors: Record<string, string> }> {
  const port = await freePort();
  writeFileSync(join(dir, 'rules.yml'), RULES);
  writeFileSync(
    join(dir, 'am.yml'),
    `global: {slack_api_url: '${slack.url}'}\nroute: {receiver: slack, group_by: [alertname], group_wait: 0s, group_interval: 1h, repeat_interval: 4h}\nreceivers: [{name: slack, slack_configs: [{channel: '#bench'}]}]\n`,
  );
  // Vigil's defaults except the intervals (a shorter run) and the files of this run.
  // VIGIL_BENCH_SCRAPE_NICE: the scrape workers' nice value instead of the default.
  const nice = process.env.VIGIL_BENCH_SCRAPE_NICE;
  writeFileSync(
    join(dir, 'vigil.yml'),
    `global: {scrape_interval: ${SCRAPE_INTERVAL_S}s, scrape_timeout: ${SCRAPE_INTERVAL_S}s, evaluation_interval: ${EVAL_INTERVAL_S}s}
server: {listen: '127.0.0.1:${port}'}
storage: {path: '${join(dir, 'data')}'}
scrape_configs:
${scrapeConfigs(targets.address)}
rule_files: ['${join(dir, 'rules.yml')}']
alerting: {config_file: '${join(dir, 'am.yml')}'}
${nice ? `scrape_workers: {nice: ${Number(nice)}}\n` : ''}`,
  );
  // VIGIL_BENCH_NODE_ARGS: extra node flags for Vigil, e.g. `--cpu-prof --cpu-prof-dir=prof` to profile it.
  const nodeArgs = (process.env.VIGIL_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(root, 'src/cli.ts'), 'start', '--config', join(dir, 'vigil.yml')], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, VIGIL_LOG_LEVEL: 'warn' },
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const base = `http://127.0.0.1:${port}`;
  const lags: number[] = [];
  let received: number | undefined;
  slack.onReceive = () => (received ??= Date.now());
  try {
    await waitHealthy(base, child, 'Vigil');
    const rules = async () => {
      const end = Date.now() + RUN_MS;
      while (Date.now() < end) {
        // How far the last evaluation is behind the schedule: 0 when on time.
        const r = await fetch(`${base}/api/v1/rules`, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) })
          .then((x) => x.json() as Promise<{ data: { groups: Array<{ lastEvaluation: string; interval: number }> } }>)
          .catch(() => undefined);
        const g = r?.data.groups[0];
        if (g && g.lastEvaluation && !g.lastEvaluation.startsWith('0001')) lags.push(Math.max(0, Date.now() - Date.parse(g.lastEvaluation) - g.interval * 1000));
        await sleep(500);
      }
    };
    const stats = await drive(base, child.pid ?? 0, RUN_MS, '/api/v1/query_range', rules);
    const alerts = await fetch(`${base}/api/v1/alerts`)
      .then((x) => x.json() as Promise<{ data: { alerts: Array<{ labels: Record<string, string>; activeAt: string; state: string }> } }>)
      .catch(() => undefined);
    const firing = alerts?.data.alerts.find((a) => a.labels.alertname === 'HighErrorRate' && a.state === 'firing');
    const notifyMs = firing && received !== undefined ? received - Date.parse(firing.activeAt) : undefined;
    const targetsJson = await fetch(`${base}/api/v1/targets`)
      .then((x) => x.json() as Promise<{ data: { activeTargets: Array<{ labels: Record<string, string>; lastError: string }> } }>)
      .catch(() => undefined);
    const errors: Record<string, string> = {};
    for (const t of targetsJson?.data.activeTargets ?? []) errors[t.labels.job] = t.lastError;
    return { stats, lags, notifyMs, errors };
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${stderr}`);
  } finally {
    await stop(child);
  }
}

/** SIGTERM (so a profile gets written), SIGKILL if it has not exited 10 s (VIGIL_BENCH_STOP_MS) later. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), Number(process.env.VIGIL_BENCH_STOP_MS ?? 10_000));
  await exited;
  clearTimeout(timer);
}

async function runPrometheus(targets: Targets, dir: string): Promise<RunStats | string> {
  const bin = findBinary('prometheus');
  if (!bin) return 'not measured: prometheus binary not installed';
  const port = await freePort();
  writeFileSync(
    join(dir, 'prom.yml'),
    `global: {scrape_interval: ${SCRAPE_INTERVAL_S}s, scrape_timeout: ${SCRAPE_INTERVAL_S}s, evaluation_interval: ${EVAL_INTERVAL_S}s}\nrule_files: ['${join(dir, 'rules.yml')}']\nscrape_configs:\n${scrapeConfigs(targets.address)}\n`,
  );
  const child = spawn(bin, [`--config.file=${join(dir, 'prom.yml')}`, `--storage.tsdb.path=${join(dir, 'prom')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(base, child, 'Prometheus');
    return await drive(base, child.pid ?? 0, RUN_MS, '/api/v1/query_range');
  } finally {
    child.kill('SIGKILL');
  }
}

const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? 'n/a' : x);

export default async (): Promise<BenchTable[]> => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-isolation-'));
  const targets = await startTargets();
  const slack = await startSlackStandIn();
  try {
    const v = await runVigil(targets, slack, dir);
    const p = await runPrometheus(targets, dir);
    const rows: Array<Array<string | number>> = [
      ['Vigil', quantile(v.stats.health, 0.5), quantile(v.stats.health, 0.99), v.stats.health.length, quantile(v.lags, 0.99), Math.max(0, ...v.lags), ms(v.notifyMs), v.stats.maxRss, quantile(v.stats.queries, 0.5)],
    ];
    if (typeof p === 'string') rows.push(['Prometheus 2.42', p, '', '', '', '', '', '', '']);
    else rows.push(['Prometheus 2.42', quantile(p.health, 0.5), quantile(p.health, 0.99), p.health.length, 'not measured: rule lag is Vigil-only here', '', 'not measured: no Alertmanager in this run', p.maxRss, quantile(p.queries, 0.5)]);
    return [
      {
        title: 'Isolation: health, rule evaluation and notification under hostile targets',
        columns: ['server', '/-/healthy p50 ms', 'p99 ms', 'probes', 'rule lag p99 ms', 'rule lag max ms', 'firing → Slack ms', 'max RSS MB', 'heavy query p50 ms'],
        rows,
        notes: [
          `Goals: /-/healthy p99 < 50 ms, rule evaluation lag < 1 s, the notification arrives, RSS < 1 GB.`,
          `Each server ran ${RUN_MS / 1000}s against the same four loopback targets (100 MB body of 1M series, endless stream, +200k new series per scrape, planning API at 20% errors), scrape interval ${SCRAPE_INTERVAL_S}s, rules every ${EVAL_INTERVAL_S}s, the range query \`${HEAVY_QUERY}\` over 1h at step 2s every ${QUERY_EVERY_MS / 1000}s.`,
          `Vigil ran with its default scrape limits and worker count${process.env.VIGIL_BENCH_SCRAPE_NICE ? `, scrape workers at nice ${process.env.VIGIL_BENCH_SCRAPE_NICE}` : ''}; its last scrape errors: ${Object.entries(v.errors)
            .map(([j, e]) => `${j}: ${e || 'ok'}`)
            .join('; ')}.`,
          'A probe that did not answer within 5 s counts as 5000 ms. Rule lag: how far the last evaluation was behind its schedule, sampled every 0.5 s from /api/v1/rules.',
          'Firing → Slack: from the alert\'s activeAt (for: 0s, so the evaluation that fired it) to the Slack stand-in receiving the message (group_wait 0s).',
          `Load average when measured: ${loadavg()[0].toFixed(1)} on ${cpus().length} cores.`,
        ],
      },
    ];
  } finally {
    await slack.close();
    await targets.close();
    rmSync(dir, { recursive: true, force: true });
  }
};
