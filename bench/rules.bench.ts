/**
 * Rule evaluation time: the documented rule set (rules/*.yml) on ~10k series,
 * and 1,000 generated rules, next to the real Prometheus evaluating the same
 * rule files on the same data (its prometheus_rule_group_last_duration_seconds).
 * Vigil reads from its compressed store (openTsdb in a temp dir, filled scrape
 * by scrape), as it runs in production.
 * Data ends at "now" so Prometheus's real-time evaluations see it.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { createRuleManager, type RuleManager } from '../src/alerts/rules/index.js';
import { silentLogger } from '../src/logger.js';
import { createEngine } from '../src/promql/index.js';
import { backfill, generateDataset, startPrometheus, writeOpenMetrics } from '../test/helpers/prometheus.js';
import { waitFor } from '../test/helpers/net.js';
import { measured, notRun, prometheusAnchor, ratioCell } from './anchor.js';
import { loadTsdb } from './load-tsdb.js';
import type { BenchTable } from './table.js';

const here = dirname(fileURLToPath(import.meta.url));
const SAMPLES = 40;
/** Rounds after one warm-up; each round waits for one new evaluation of the generated group in Prometheus (every 10s). */
const RUNS = 5;

function generatedRules(n: number): string {
  const lines = ['groups:', '- name: generated', '  interval: 10s', '  rules:'];
  for (let i = 0; i < n; i++) {
    const endpoint = i % 28 < 4 ? ['/api/plans', '/api/users', '/api/sessions', '/health'][i % 28] : `/api/r${(i % 28) - 4}`;
    const inst = `api-${i % 10}:8080`;
    if (i % 2 === 0)
      lines.push(`  - record: gen:requests:rate5m_${i}`, `    expr: sum by (status) (rate(http_requests_total{endpoint="${endpoint}",instance="${inst}"}[5m]))`);
    else
      lines.push(
        `  - alert: Gen${i}`,
        `    expr: histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{endpoint="${endpoint}",instance="${inst}"}[5m]))) > 0.05`,
        '    for: 1m',
        '    annotations: {description: "p90 is {{ $value | humanizeDuration }}"}',
      );
  }
  return lines.join('\n') + '\n';
}


const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

interface PromGroupStats {
  /** Last evaluation duration in ms. */
  durationMs: number;
  /** Start of the last evaluation, seconds: tells one evaluation from the next. */
  evaluatedAt: number;
}

/** Per rule group (name without the file): Prometheus's last evaluation duration and time. */
async function readPrometheus(url: string): Promise<Map<string, PromGroupStats>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const durations = new Map<string, number>();
  const times = new Map<string, number>();
  for (const line of text.split('\n')) {
    const x = /^prometheus_rule_group_last_(duration|evaluation_timestamp)_seconds\{rule_group="[^"]*;([^"]+)"\} (\S+)$/.exec(line);
    if (!x || !(Number(x[3]) > 0)) continue;
    if (x[1] === 'duration') durations.set(x[2], Number(x[3]) * 1000);
    else times.set(x[2], Number(x[3]));
  }
  const out = new Map<string, PromGroupStats>();
  for (const [name, durationMs] of durations) out.set(name, { durationMs, evaluatedAt: times.get(name) ?? 0 });
  return out;
}

const fmt = (ms: number): string => (ms >= 10 ? ms.toFixed(0) : ms.toFixed(2));

function push(m: Map<string, number[]>, key: string, v: number): void {
  const xs = m.get(key);
  if (xs) xs.push(v);
  else m.set(key, [v]);
}

export default async function bench(): Promise<BenchTable[]> {
  const anchor = prometheusAnchor();
  const { prometheus, promtool } = 'reason' in anchor ? { prometheus: undefined, promtool: undefined } : anchor;
  const work = mkdtempSync(join(tmpdir(), 'vigil-rules-bench-'));
  const start = Math.floor((Date.now() - SAMPLES * 15_000) / 1000) * 1000;
  const data = generateDataset({ start, samples: SAMPLES, instances: 10, extraEndpoints: 24, seed: 7 });
  const end = start + (SAMPLES - 1) * 15_000;
  const t0 = performance.now();
  const storage = await loadTsdb(join(work, 'vigil'), data);
  const loadMs = performance.now() - t0;
  const engine = createEngine(storage);
  const documented = readdirSync(join(here, '../rules'))
    .filter((f) => f.endsWith('.yml'))
    .map((f) => join(here, '../rules', f));
  const genFile = join(work, 'generated.yml');
  writeFileSync(genFile, generatedRules(1000));

  const manager = async (files: string[]): Promise<RuleManager> => {
    const m = createRuleManager({
      files,
      baseDir: work,
      engine,
      storage,
      sink: { send: async () => {} },
      registry: new Registry(),
      logger: silentLogger(),
      evaluationIntervalMs: 15_000,
      externalLabels: {},
      externalUrl: 'http://vigil',
    });
    const r = await m.reload();
    if (!r.ok) throw new Error(r.errors.join('\n'));
    return m;
  };
  const docManager = await manager(documented);
  const genManager = await manager([genFile]);
  const docGroups = docManager.groups().map((g) => g.name);
  const genGroups = genManager.groups().map((g) => g.name);

  // Both managers write (recording results, ALERTS) into the same store: one clock for both.
  let ts = end;
  const vigilTimes = new Map<string, number[]>();
  const vigilRound = async (record: boolean) => {
    for (const m of [docManager, genManager]) {
      ts += 1;
      await m.evaluateAll(ts);
      if (record) for (const g of m.groups()) push(vigilTimes, g.name, g.evaluationTimeMs);
    }
  };

  const promTimes = new Map<string, number[]>();
  let note = 'reason' in anchor ? `not measured: ${anchor.reason}` : 'not measured: Prometheus did not evaluate the groups';
  try {
    if (prometheus && promtool) {
      const ruleList = [...documented, genFile].map((f) => `  - ${f}`).join('\n');
      const dataDir = join(work, 'promdata');
      await writeOpenMetrics(data, join(work, 'data.om'));
      await backfill(promtool, join(work, 'data.om'), dataDir);
      const running = await startPrometheus({
        prometheus,
        dataDir,
        config: `global:\n  evaluation_interval: 5s\nrule_files:\n${ruleList}\n`,
      });
      try {
        // Wait until every group has been evaluated once.
        let seen = await waitFor(async () => {
          const m = await readPrometheus(running.url);
          return m.size >= docGroups.length + genGroups.length ? m : undefined;
        }, 90_000, 1000);
        // Rounds take turns: a new Prometheus evaluation of the generated group
        // (its costliest), then one Vigil evaluation of all groups, started just
        // after Prometheus finished so the two rarely overlap on the shared CPUs.
        await vigilRound(false);
        for (let r = 0; r < RUNS; r++) {
          const prev = seen;
          seen = await waitFor(async () => {
            const m = await readPrometheus(running.url);
            return genGroups.every((g) => (m.get(g)?.evaluatedAt ?? 0) > (prev.get(g)?.evaluatedAt ?? 0)) ? m : undefined;
          }, 30_000, 100);
          for (const [name, s] of seen) if (s.evaluatedAt > (prev.get(name)?.evaluatedAt ?? 0)) push(promTimes, name, s.durationMs);
          await vigilRound(true);
        }
        note = `oracle: Debian prometheus 2.42 on the same samples (backfilled), prometheus_rule_group_last_duration_seconds of each new evaluation (${RUNS} of the generated group, every 10s; documented groups every 5s)`;
      } finally {
        await running.stop();
      }
    } else {
      await vigilRound(false);
      for (let r = 0; r < RUNS; r++) await vigilRound(true);
    }
  } finally {
    await storage.close();
    rmSync(work, { recursive: true, force: true });
  }

  const rows: Array<Array<string | number>> = [];
  const missing = 'reason' in anchor ? anchor.reason : 'no Prometheus evaluation seen';
  const ratio = (v: number, p: number) => ratioCell(v, Number.isNaN(p) ? notRun(missing) : measured(p, 'the Prometheus evaluation'));
  // The spread shows how much of a ratio is load from others on the machine.
  const spread = (xs: readonly number[] = []) => (xs.length ? `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}` : 'n/a');
  for (const name of [...docGroups, ...genGroups]) {
    const v = median(vigilTimes.get(name) ?? []);
    const p = median(promTimes.get(name) ?? []);
    rows.push([name, v, spread(vigilTimes.get(name)), Number.isNaN(p) ? 'not measured' : p, spread(promTimes.get(name)), ratio(v, p)]);
  }
  const vDoc = docGroups.reduce((a, g) => a + median(vigilTimes.get(g) ?? []), 0);
  const pDoc = docGroups.reduce((a, g) => a + median(promTimes.get(g) ?? []), 0);
  rows.push(['all documented groups (sum of medians)', vDoc, '', Number.isNaN(pDoc) ? 'not measured' : pDoc, '', ratio(vDoc, pDoc)]);
  return [
    {
      title: `rule group evaluation, ${data.length.toLocaleString('en-US')} series x ${SAMPLES} samples (1,000 generated rules in "generated")`,
      columns: ['group', `vigil ms (median of ${RUNS})`, 'vigil min-max', 'prometheus ms (median of evaluations seen)', 'prometheus min-max', 'vigil/prom'],
      rows,
      notes: [
        note,
        "vigil: rule manager over its compressed store (openTsdb in a temp dir, loaded scrape by scrape) and PromQL engine, alerts to a no-op sink; includes template expansion and writes of recording results and ALERTS into the store",
        'rounds interleaved: each waits for a new Prometheus evaluation of the generated group, then runs one Vigil evaluation of every group; one Vigil warm-up round first (fills the decoded-chunk cache, as after the first interval in service)',
        `setup: generate + append to Vigil's tsdb ${Math.round(loadMs)} ms`,
      ],
    },
  ];
}
