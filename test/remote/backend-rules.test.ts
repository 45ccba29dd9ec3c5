/**
 * The documented rules (rules/*.yml) evaluated through the external query
 * backend (the real VictoriaMetrics holding the data) fire the same alerts as
 * through the embedded store holding the same data; with `evaluation: local`
 * (Vigil's engine over the backend's raw samples) at exactly the same steps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertingRule } from '../../src/alerts/rules/alerting.js';
import { Group } from '../../src/alerts/rules/group.js';
import { loadGroupSpecs } from '../../src/alerts/rules/index.js';
import { createEngine } from '../../src/promql/index.js';
import type { QueryEngine } from '../../src/promql/types.js';
import { queryBackendSchema } from '../../src/config/remote.js';
import { createBackendEngine } from '../../src/remote/backend.js';
import { encodeWriteBody, type ProtoTimeSeries } from '../../src/remote/proto.js';
import { MemoryStorage, openTsdb, type Tsdb } from '../../src/tsdb/index.js';
import { freePort } from '../helpers/net.js';
import { generateDataset, type GenSeries } from '../helpers/prometheus.js';
import { requireBinary } from '../helpers/services.js';
import { victoriaMetrics, type Engine } from './engines.js';

const vmBin = requireBinary('victoria-metrics');
const ROOT = join(import.meta.dirname, '../..');
const STEP = 15_000;
// Recent data: VictoriaMetrics rejects samples outside its retention window.
const T0 = Math.floor((Date.now() - 3 * 3600_000) / 60_000) * 60_000;

let dir: string;
let vm: Engine;
let db: Tsdb;
let data: GenSeries[];

/** Writes the dataset to VictoriaMetrics the way Vigil does: remote-write requests. */
async function remoteWrite(url: string, series: GenSeries[]): Promise<void> {
  let batch: ProtoTimeSeries[] = [];
  let n = 0;
  const flush = async () => {
    if (!batch.length) return;
    const res = await fetch(url, { method: 'POST', body: encodeWriteBody({ timeseries: batch }), headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf' } });
    if (!res.ok) throw new Error(`VictoriaMetrics answered ${res.status}: ${await res.text()}`);
    batch = [];
    n = 0;
  };
  for (const s of series) {
    const labels = Object.keys(s.labels)
      .sort()
      .map((name) => ({ name, value: s.labels[name] }));
    batch.push({ labels, samples: s.t.map((t, i) => ({ timestamp: t, value: s.v[i] })) });
    n += s.t.length;
    if (n > 20_000) await flush();
  }
  await flush();
}

beforeAll(async () => {
  if (!vmBin) return;
  dir = mkdtempSync(join(tmpdir(), 'vigil-backend-'));
  data = generateDataset({ start: T0, samples: 240, intervalMs: STEP, instances: 2 });
  // Thousands of answers over loopback: uncompressed, this file's one JavaScript thread
  // (which also evaluates the embedded and local runs) does not spend seconds inflating them.
  vm = victoriaMetrics(vmBin, join(dir, 'vm'), await freePort(), ['-http.disableResponseCompression']);
  await vm.start();
  await remoteWrite(vm.writeUrl, data);
  await fetch(`${vm.url}/internal/force_flush`);
  db = await openTsdb({ dir: join(dir, 'vigil'), retentionMs: 30 * 24 * 3600_000, checkpointIntervalMs: 0 });
  const app = db.appender();
  for (const s of data) for (let i = 0; i < s.t.length; i++) app.append(s.labels, s.t[i], s.v[i]);
  await app.commit();
}, 120_000);

afterAll(async () => {
  await db?.close();
  await vm?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** Evaluates every documented group at each step; returns "step alertname{labels} state" lines. */
async function run(engine: QueryEngine, steps: number[]): Promise<string[]> {
  const { groups, errors } = loadGroupSpecs(['rules/*.yml'], ROOT);
  expect(errors).toEqual([]);
  const gs = groups.map(
    (spec) =>
      new Group(spec, {
        engine,
        storage: new MemoryStorage(),
        defaultIntervalMs: STEP,
        externalLabels: {},
        externalUrl: 'http://vigil.test',
        resendDelayMs: 60_000,
        outageToleranceMs: 3_600_000,
        forGracePeriodMs: 0,
        now: () => 0,
      }),
  );
  for (const g of gs) for (const r of g.rules) if (r instanceof AlertingRule) r.restored = true;
  const out: string[] = [];
  for (const ts of steps) {
    // The groups do not read each other's results (recordings go to a store no engine here reads):
    // evaluated together, their queries to VictoriaMetrics overlap instead of queueing.
    await Promise.all(gs.map((g) => g.evaluate(ts)));
    for (const g of gs) {
      for (const r of g.rules) {
        if (r.health === 'err') out.push(`${(ts - T0) / 1000}s ${r.name} ERROR ${r.lastError}`);
        if (!(r instanceof AlertingRule)) continue;
        for (const a of r.active.values()) {
          if (a.state === 'inactive') continue;
          const labels = Object.entries(a.labels)
            .sort()
            .map(([k, v]) => `${k}=${v}`)
            .join(',');
          out.push(`${(ts - T0) / 1000}s ${r.name}{${labels}} ${a.state}`);
        }
      }
    }
  }
  return out.sort();
}

let runs: { embedded: Promise<string[]>; backend: Promise<string[]>; local: Promise<string[]> } | undefined;

/**
 * The three runs over the same steps, shared by the tests and started together:
 * VictoriaMetrics answers the backend's queries while Vigil evaluates the others.
 */
function allRuns(): NonNullable<typeof runs> {
  if (runs) return runs;
  const steps: number[] = [];
  for (let t = T0 + 5 * 60_000; t < T0 + 240 * STEP; t += 30_000) steps.push(t);
  runs = {
    embedded: run(createEngine(db), steps),
    backend: run(createBackendEngine({ config: queryBackendSchema.parse({ url: vm.url }) }), steps),
    local: run(createBackendEngine({ config: queryBackendSchema.parse({ url: vm.url, evaluation: 'local' }) }), steps),
  };
  // A test that fails before awaiting a run still reports its own failure, not an unhandled rejection.
  for (const p of Object.values(runs)) p.catch(() => undefined);
  return runs;
}

describe.skipIf(!vmBin)('rules through VictoriaMetrics as the query backend', () => {
  it('fire the same alerts as through the embedded store, at the same steps for every rule MetricsQL evaluates like PromQL', async () => {
    const embedded = await allRuns().embedded;
    const backend = await allRuns().backend;
    expect(embedded.some((l) => l.endsWith(' firing'))).toBe(true);
    expect(embedded.some((l) => l.includes('ERROR'))).toBe(false);
    expect(backend.some((l) => l.includes('ERROR'))).toBe(false);
    // MetricsQL's rate()/increase() do not extrapolate to the window's edges as
    // PromQL does (VictoriaMetrics documents this), so values near a threshold
    // cross it at other steps. Rules without them must agree exactly; for rules
    // with them the share of differing steps is bounded (about 5% measured).
    const rateRules = new Set(
      loadGroupSpecs(['rules/*.yml'], ROOT)
        .groups.flatMap((g) => g.rules)
        .filter((r) => /\b(rate|irate|increase)\(/.test(r.expr))
        .map((r) => r.name),
    );
    const ruleOf = (l: string) => l.split(' ')[1].split('{')[0];
    const only = (a: string[], b: string[]) => {
      const set = new Set(b);
      return a.filter((l) => !set.has(l));
    };
    const diff = [...only(embedded, backend), ...only(backend, embedded)];
    const info = `embedded ${embedded.length} lines, backend ${backend.length}, differing: ${diff.length}\n${diff.slice(0, 20).join('\n')}`;
    expect(diff.filter((l) => !rateRules.has(ruleOf(l))), info).toEqual([]);
    expect(diff.length / embedded.length, info).toBeLessThan(0.1);
    // The same alerts fire at some point either way.
    const firing = (lines: string[]) => new Set(lines.filter((l) => l.endsWith(' firing')).map((l) => l.split(' ')[1]));
    expect([...firing(backend)].sort()).toEqual([...firing(embedded)].sort());
  }, 300_000);

  it('with evaluation: local, fire exactly the same alerts at exactly the same steps as through the embedded store', async () => {
    const embedded = await allRuns().embedded;
    const local = await allRuns().local;
    expect(embedded.some((l) => l.endsWith(' firing'))).toBe(true);
    expect(local).toEqual(embedded);
  }, 300_000);
});
