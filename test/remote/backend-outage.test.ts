/**
 * Vigil with VictoriaMetrics as remote-write target and query backend: alert
 * `for` state survives a restart through the backend's ALERTS_FOR_STATE, and a
 * stopped backend fires QueryBackendDown (evaluated locally) while every other
 * alert keeps its state. VIGIL_TEST_BACKEND_OUTAGE_S sets the outage (default
 * 1.5 s from QueryBackendDown going pending, with its window and `for` shortened
 * to 750 ms and 500 ms and the intervals to 250 ms: about 2.5 s down in all,
 * about ten evaluations through the dead backend; 180 runs the shipped rule
 * unchanged at 500 ms intervals).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logger.js';
import { startVigil, type Vigil } from '../../src/main.js';
import { freePort, waitFor } from '../helpers/net.js';
import { requireBinary } from '../helpers/services.js';
import { victoriaMetrics, type Engine } from './engines.js';

const vmBin = requireBinary('victoria-metrics');
const OUTAGE_S = process.env.VIGIL_TEST_BACKEND_OUTAGE_S;
const OUTAGE_MS = Number(OUTAGE_S ?? 1.5) * 1000;
const INTERVAL_MS = OUTAGE_S === undefined ? 250 : 500;
const ROOT = join(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let vm: Engine;
let vigil: Vigil | undefined;
let configFile: string;
let flusher: NodeJS.Timeout | undefined;

beforeAll(async () => {
  if (!vmBin) return;
  dir = mkdtempSync(join(tmpdir(), 'vigil-backend-outage-'));
  vm = victoriaMetrics(vmBin, join(dir, 'vm'), await freePort());
  await vm.start();
  // VictoriaMetrics makes what it accepted searchable seconds later (several at
  // a new series); the rules through it would wait that long at every step.
  // Flushed every 200 ms, it answers with what remote write sent.
  flusher = setInterval(() => void fetch(`${vm.url}/internal/force_flush`).catch(() => undefined), 200);
  const port = await freePort();
  let shipped = readFileSync(join(ROOT, 'rules/query-backend.yml'), 'utf8');
  if (OUTAGE_MS < 180_000) shipped = shipped.replace('[1m]', `[${3 * INTERVAL_MS}ms]`).replace('for: 1m', `for: ${2 * INTERVAL_MS}ms`);
  writeFileSync(join(dir, 'query-backend.yml'), shipped);
  writeFileSync(
    join(dir, 'alerts.yml'),
    `groups:
  - name: through-backend
    interval: ${INTERVAL_MS}ms
    rules:
      - alert: SelfScraped
        expr: up{job="self"} == 1
        for: ${2 * INTERVAL_MS}ms
      - alert: LongPending
        expr: up{job="self"} == 1
        for: 1h
`,
  );
  configFile = join(dir, 'vigil.yml');
  writeFileSync(
    configFile,
    `global: {scrape_interval: ${INTERVAL_MS}ms, scrape_timeout: ${INTERVAL_MS}ms, evaluation_interval: ${INTERVAL_MS}ms}
server: {listen: '127.0.0.1:${port}'}
storage: {path: data}
logs: {self: false}
scrape_configs:
  - job_name: self
    static_configs: [{targets: ['127.0.0.1:${port}']}]
remote_write:
  - url: ${vm.writeUrl}
    queue_config: {batch_send_deadline: 200ms, min_backoff: 100ms, max_backoff: 500ms}
query_backend:
  url: ${vm.url}
  timeout: 2s
  local_rule_files: [query-backend.yml]
rule_files: [alerts.yml, query-backend.yml]
`,
  );
}, 120_000);

afterAll(async () => {
  clearInterval(flusher);
  await vigil?.stop();
  await vm?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

const start = () => startVigil(loadConfig(configFile), { logger: silentLogger() });
const step = <T>(what: string, fn: () => T | undefined, ms: number): Promise<T> =>
  waitFor(fn, ms, 50).catch((err: unknown) => {
    throw new Error(`${what}: ${String(err)}; alerts: ${JSON.stringify(vigil?.rules.alerts())}`);
  });
const alert = (v: Vigil, name: string) => v.rules.alerts().find((a) => a.labels.alertname === name);

describe.skipIf(!vmBin)('VictoriaMetrics as query backend', () => {
  it('restores pending for-state from the backend after a restart; a stopped backend fires QueryBackendDown and resolves nothing else', async () => {
    vigil = await start();
    const firing = await step('SelfScraped fires', () => (alert(vigil!, 'SelfScraped')?.state === 'firing' ? alert(vigil!, 'SelfScraped') : undefined), 30_000);
    const pending = alert(vigil, 'LongPending')!;
    expect(pending.state).toBe('pending');
    // Let ALERTS_FOR_STATE reach the backend, then restart once the pending alert
    // is old enough (3 s) that a fresh start could not pass for a restored one.
    await step('ALERTS_FOR_STATE of LongPending in the backend', async () => {
      const res = await fetch(`${vm.url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: 'ALERTS_FOR_STATE{alertname="LongPending"}' }) });
      const body = (await res.json()) as { data?: { result: unknown[] } };
      return body.data?.result.length ? true : undefined;
    }, 30_000);
    const minAge = 3000 - (Date.now() - pending.activeAt);
    if (minAge > 0) await sleep(minAge);
    const ageAtStop = Date.now() - pending.activeAt;
    await vigil.stop();
    vigil = undefined;
    vigil = await start();
    const restartedAt = Date.now();
    // Restored after the second evaluation. Time spent down does not count as
    // pending (Prometheus's rule): the alert keeps the pending age it had, which a
    // fresh start (age of a few seconds) could not have yet.
    const restored = await step('LongPending restored', () => {
      const a = alert(vigil!, 'LongPending');
      return a && Date.now() - a.activeAt >= ageAtStop - 1000 ? a : undefined;
    }, 30_000);
    expect(Date.now() - restartedAt).toBeLessThan(ageAtStop - 1000);
    expect(restored.state).toBe('pending');
    await step('SelfScraped fires again', () => (alert(vigil!, 'SelfScraped')?.state === 'firing' ? true : undefined), 30_000);
    const before = { firing: alert(vigil, 'SelfScraped')!, pending: alert(vigil, 'LongPending')! };
    expect(before.firing.activeAt).toBeLessThan(restartedAt);
    void firing;

    // Backend outage.
    await vm.stop();
    const down = await step('QueryBackendDown fires', () => (alert(vigil!, 'QueryBackendDown')?.state === 'firing' ? alert(vigil!, 'QueryBackendDown') : undefined), OUTAGE_MS + 60_000);
    expect(down.labels.severity).toBe('critical');
    const remaining = OUTAGE_MS - (Date.now() - down.activeAt);
    if (remaining > 0) await sleep(remaining);
    // Nothing else changed: same alerts, same states, same start times.
    const during = { firing: alert(vigil, 'SelfScraped'), pending: alert(vigil, 'LongPending') };
    expect(during.firing?.state).toBe('firing');
    expect(during.firing?.activeAt).toBe(before.firing.activeAt);
    expect(during.pending?.state).toBe('pending');
    expect(during.pending?.activeAt).toBe(before.pending.activeAt);
    const metrics = await vigil.registry.metrics();
    expect(metrics).toMatch(/vigil_query_backend_failures_total\{endpoint="query",reason="unreachable"\} [1-9]/);
    expect(metrics).toMatch(/^vigil_query_backend_up 0$/m);
    const health = vigil.rules.groups().find((g) => g.name === 'through-backend')!.rules[0];
    expect(health.health).toBe('err');

    // Backend back: the failure alert resolves, the others carry on.
    await vm.start();
    await step('QueryBackendDown resolves', () => (alert(vigil!, 'QueryBackendDown') === undefined ? true : undefined), 60_000);
    expect(alert(vigil, 'SelfScraped')?.state).toBe('firing');
    expect(alert(vigil, 'LongPending')?.activeAt).toBe(before.pending.activeAt);
  }, 240_000 + OUTAGE_MS);
});
