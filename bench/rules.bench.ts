/**
 * Rule evaluation time: the documented rule set (rules/*.yml) on ~10k series,
 * and 1,000 generated rules, next to the real Prometheus evaluating the same
 * rule files on the same data (its prometheus_rule_group_last_duration_seconds).
 * Data ends at "now" so Prometheus's real-time evaluations see it.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { createRuleManager } from '../src/alerts/rules/index.js';
import { silentLogger } from '../src/logger.js';
import { createEngine } from '../src/promql/index.js';
import { MemoryStorage } from '../src/tsdb/memory.js';
import { backfill, generateDataset, startPrometheus, writeOpenMetrics } from '../test/helpers/prometheus.js';
import { waitFor } from '../test/helpers/net.js';
import { findBinary } from '../test/helpers/services.js';
import { timeIt, type BenchTable } from './table.js';

const here = dirname(fileURLToPath(import.meta.url));
const SAMPLES = 40;
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

export default async function bench(): Promise<BenchTable[]> {
  const prometheus = findBinary('prometheus');
  const promtool = findBinary('promtool');
  const work = mkdtempSync(join(tmpdir(), 'vigil-rules-bench-'));
  const start = Math.floor((Date.now() - SAMPLES * 15_000) / 1000) * 1000;
  const data = generateDataset({ start, samples: SAMPLES, instances: 10, extraEndpoints: 24, seed: 7 });
  const end = start + (SAMPLES - 1) * 15_000;
  const storage = new MemoryStorage();
  for (const s of data) for (let i = 0; i < s.t.length; i++) storage.add(s.labels, s.t[i], s.v[i]);
  const documented = readdirSync(join(here, '../rules'))
    .filter((f) => f.endsWith('.yml'))
    .map((f) => join(here, '../rules', f));
  const genFile = join(work, 'generated.yml');
  writeFileSync(genFile, generatedRules(1000));

  const vigilTime = async (files: string[]): Promise<Map<string, number>> => {
    const manager = createRuleManager({
      files,
      baseDir: work,
      engine: createEngine(storage),
      storage,
      sink: { send: async () => {} },
      registry: new Registry(),
      logger: silentLogger(),
      evaluationIntervalMs: 15_000,
      externalLabels: {},
      externalUrl: 'http://vigil',
    });
    const r = await manager.reload();
    if (!r.ok) throw new Error(r.errors.join('\n'));
    const out = new Map<string, number>();
    let ts = end;
    await timeIt(async () => {
      ts += 1;
      await manager.evaluateAll(ts);
      for (const g of manager.groups()) out.set(g.name, Math.min(out.get(g.name) ?? Infinity, g.evaluationTimeMs));
    }, RUNS);
    return out;
  };

  const vDoc = await vigilTime(documented);
  const vGen = await vigilTime([genFile]);

  let promDurations = new Map<string, number>();
  let note = 'prometheus/promtool not installed: no comparison';
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
      const read = async () => {
        const text = await (await fetch(`${running.url}/metrics`)).text();
        const m = new Map<string, number>();
        for (const line of text.split('\n')) {
          const x = /^prometheus_rule_group_last_duration_seconds\{rule_group="[^"]*;([^"]+)"\} (\S+)$/.exec(line);
          if (x && Number(x[2]) > 0) m.set(x[1], Number(x[2]) * 1000);
        }
        return m;
      };
      // Wait for a few evaluations of every group (the generated one every 10s).
      await waitFor(async () => {
        const m = await read();
        return m.size >= vDoc.size + 1 ? m : undefined;
      }, 90_000, 1000);
      await new Promise((r) => setTimeout(r, 11_000));
      promDurations = await read();
      note = 'oracle: Debian prometheus 2.42 on the same samples (backfilled), prometheus_rule_group_last_duration_seconds';
    } finally {
      await running.stop();
    }
  }
  rmSync(work, { recursive: true, force: true });

  const rows: Array<Array<string | number>> = [];
  for (const [name, ms] of [...vDoc, ...vGen]) {
    const p = promDurations.get(name);
    rows.push([name, ms, p ?? 'n/a', p ? `${(ms / p).toFixed(2)}x` : 'n/a']);
  }
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const pDoc = [...vDoc.keys()].reduce((a, k) => a + (promDurations.get(k) ?? NaN), 0);
  rows.push(['all documented groups', total(vDoc), Number.isNaN(pDoc) ? 'n/a' : pDoc, Number.isNaN(pDoc) ? 'n/a' : `${(total(vDoc) / pDoc).toFixed(2)}x`]);
  return [
    {
      title: `rule group evaluation, ${data.length.toLocaleString('en-US')} series x ${SAMPLES} samples (1,000 generated rules in "generated")`,
      columns: ['group', 'vigil ms (best of 5)', 'prometheus ms (last eval)', 'vigil/prom'],
      rows,
      notes: [note, 'vigil: in-process MemoryStorage + PromQL engine, alerts to a no-op sink; includes template expansion and ALERTS writes'],
    },
  ];
}
