/**
 * SLO files → generated rules: the checked-in rule files match their SLO files,
 * promtool accepts them and runs their unit tests with the same verdicts as
 * Vigil, and bad SLO files are rejected with file, line and field while the
 * others keep their rules.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuleManager } from '../../../src/alerts/rules/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { silentLogger } from '../../../src/logger.js';
import { startVigil } from '../../../src/main.js';
import { loadValidatedConfig } from '../../../src/config-check.js';
import { baseConfig, e2eDir } from '../../e2e/harness.js';
import { createEngine } from '../../../src/promql/index.js';
import { MemoryStorage } from '../../../src/tsdb/memory.js';
import { runRuleTests } from '../../../src/alerts/rules/unittest.js';
import { generateGroups, generateSloRuleFiles, parseSloText, SloRuleSource } from '../../../src/alerts/slo/index.js';
import { outputName } from '../../../src/cli/slo-generate.js';
import { loadAlertmanagerConfig } from '../../../src/alerts/notify/config.js';
import { compileInhibitRules, Inhibitor } from '../../../src/alerts/notify/inhibit.js';
import { matchRoutes, routeTree } from '../../../src/alerts/notify/route.js';
import { parseRuleFile } from '../../../src/alerts/rules/file.js';
import { CATALOGUE } from '../../../src/dashboards/catalogue.js';
import { checkRuleFiles } from '../../../src/dashboards/check.js';
import { requireBinary } from '../../helpers/services.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const promtool = requireBinary('promtool', 'prometheus');
const amtool = requireBinary('amtool', 'prometheus-alertmanager');

const generated = readdirSync(join(root, 'slos/generated')).map((f) => `slos/generated/${f}`);
const unitTests = readdirSync(join(root, 'slos/tests')).filter((f) => f.endsWith('.test.yml')).map((f) => `slos/tests/${f}`);

/**
 * Runs promtool beside the test process (Vigil's own evaluation goes on meanwhile); never rejects.
 * GOGC=400: the unit tests' days of series at one-minute steps keep Go's collector busy; with
 * a larger heap target (about 130 MB instead of 65) promtool spends about a sixth less CPU.
 */
function runPromtool(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(promtool!, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GOGC: '400' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: err ? stdout + stderr : stdout });
    });
  });
}

/**
 * Each run of the shipped unit tests takes seconds: Vigil's run is shared by
 * the test of its verdict and the comparison of its report with promtool's,
 * and promtool's starts with Vigil's so the two overlap.
 */
let vigilUnitRun: Promise<{ code: number; out: string[]; err: string[] }> | undefined;
let promtoolUnitRun: Promise<{ code: number; out: string }> | undefined;
function vigilUnitTests(): Promise<{ code: number; out: string[]; err: string[] }> {
  if (promtool) promtoolUnitRun ??= runPromtool(['test', 'rules', ...unitTests]);
  vigilUnitRun ??= (async () => {
    process.chdir(root);
    const out: string[] = [];
    const err: string[] = [];
    const code = await runRuleTests(unitTests, (x) => out.push(x), (x) => err.push(x));
    return { code, out, err };
  })();
  return vigilUnitRun;
}

describe('shipped SLOs', () => {
  it('the checked-in generated rules match slos/*.yml (run npm run slos:build after editing)', () => {
    const { files, errors } = generateSloRuleFiles(['slos/*.yml'], root);
    expect(errors).toEqual([]);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      expect(readFileSync(join(root, 'slos/generated', outputName(f.source)), 'utf8')).toBe(f.text);
    }
    expect(generated.length).toBe(files.length);
  });

  it('generate the workbook windows, budget series and both alert severities', () => {
    const text = readFileSync(join(root, 'slos/generated/planning-api.rules.yml'), 'utf8');
    for (const w of ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d']) expect(text).toContain(`record: slo:sli_error:ratio_rate${w}\n`);
    for (const r of ['slo:error_budget:ratio', 'slo:current_burn_rate:ratio', 'slo:period_error_budget_remaining:ratio']) expect(text).toContain(`record: ${r}\n`);
    expect(text).toContain('14.4 * 0.001');
    expect(text).toContain('6 * 0.001');
    expect(text).toContain('3 * 0.01');
    expect(text).toContain('1 * 0.01');
    expect(text).toMatch(/severity: critical\n(\s+\w+: .*\n)*?\s+sloth_severity: page/);
    expect(text).toMatch(/severity: warning\n(\s+\w+: .*\n)*?\s+sloth_severity: ticket/);
  });

  it('every metric the generated rules name is in the catalogue, and every expression parses', () => {
    const files = generated.map((f) => ({ file: f, text: readFileSync(join(root, f), 'utf8') }));
    expect(checkRuleFiles(files, CATALOGUE)).toEqual([]);
  });

  it('Vigil runs the unit tests of the generated rules', async () => {
    const { code, err } = await vigilUnitTests();
    expect(code, err.join('\n')).toBe(0);
  }, 180_000);
});

describe('shipped routing of the generated SLO alerts', () => {
  const env: NodeJS.ProcessEnv = { ...process.env, SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/XXXX' };
  const shipped = join(root, 'alerting/alertmanager.yml');
  /** Each generated alert as it fires: its labels plus alertname. */
  const alerts = parseRuleFile(readFileSync(join(root, 'slos/generated/planning-api.rules.yml'), 'utf8'), 'planning-api.rules.yml')
    .groups.flatMap((g) => g.rules)
    .filter((r) => r.kind === 'alert')
    .map((r): Record<string, string> => ({ alertname: r.name, ...r.labels }));

  it('pages go to the critical receivers, tickets to the warning ones (and amtool agrees)', () => {
    const tree = routeTree(loadAlertmanagerConfig(shipped, env));
    expect(alerts.map((a) => `${a.alertname}/${a.sloth_severity}`).sort()).toEqual([
      'PlanningApiAvailabilityBudgetBurn/page',
      'PlanningApiAvailabilityBudgetBurn/ticket',
      'PlanningApiLatencyBudgetBurn/page',
      'PlanningApiLatencyBudgetBurn/ticket',
    ]);
    for (const a of alerts) {
      const receivers = matchRoutes(tree, a).map((r) => r.opts.receiver);
      expect(receivers, JSON.stringify(a)).toEqual([a.sloth_severity === 'page' ? 'critical-alerts' : 'warning-alerts']);
      if (amtool) {
        const text = readFileSync(shipped, 'utf8').replace(/\$\{([A-Z_]+)(?::-([^}]*))?\}/g, (_m, k: string, d?: string) => env[k] ?? d ?? '');
        const dir = mkdtempSync(join(tmpdir(), 'vigil-slo-route-'));
        try {
          writeFileSync(join(dir, 'am.yml'), text);
          const out = execFileSync(amtool, ['config', 'routes', 'test', `--config.file=${join(dir, 'am.yml')}`, ...Object.entries(a).map(([k, v]) => `${k}=${JSON.stringify(v)}`)], { encoding: 'utf8' });
          expect(out.trim()).toBe(receivers.join(','));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  });

  it("while an SLO's page fires, the shipped inhibit rule holds back the same SLO's ticket, not the other SLO's", () => {
    const inhibitor = new Inhibitor(compileInhibitRules(loadAlertmanagerConfig(shipped, env).inhibit_rules ?? []));
    const find = (name: string, sev: string) => alerts.find((a) => a.alertname === name && a.sloth_severity === sev)!;
    const page = find('PlanningApiAvailabilityBudgetBurn', 'page');
    const firing = [{ fingerprint: 'page', labels: page }];
    expect(inhibitor.inhibitedBy(find('PlanningApiAvailabilityBudgetBurn', 'ticket'), 'ticket', firing)).toBe('page');
    expect(inhibitor.inhibitedBy(find('PlanningApiLatencyBudgetBurn', 'ticket'), 'other', firing)).toBeUndefined();
  });
});

const VALID = `version: prometheus/v1
service: api
slos:
  - name: availability
    objective: 99.5
    sli:
      events:
        error_query: sum(rate(errors_total[{{.window}}]))
        total_query: sum(rate(requests_total[{{.window}}]))
    alerting:
      name: ApiBudgetBurn
`;

function errorOf(text: string): string {
  try {
    parseSloText(text, 'slos/api.yml');
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the SLO file to be rejected');
}

/**
 * A file as Sloth's prometheus/v1 documentation writes them: quoted version
 * and service, labels at file and SLO level, an events SLI spread over lines,
 * a raw SLI, alert labels and annotations at both levels, a disabled ticket.
 */
const SLOTH_STYLE = `version: "prometheus/v1"
service: "checkout"
labels:
  owner: "payments"
  tier: "1"
slos:
  - name: "requests-availability"
    objective: 99.95
    description: "Requests answered without a server error or throttling."
    labels:
      category: availability
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="checkout",code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="checkout"}[{{.window}}]))
    alerting:
      name: "CheckoutHighErrorRate"
      labels:
        category: "availability"
      annotations:
        summary: "High error rate on checkout responses"
      page_alert:
        labels:
          severity: pageteam
          routing_key: payments
      ticket_alert:
        labels:
          severity: "slack"
          slack_channel: "#alerts-payments"
  - name: "requests-latency"
    objective: 99
    sli:
      events:
        error_query: |
          (
            sum(rate(http_request_duration_seconds_count{job="checkout"}[{{.window}}]))
            -
            sum(rate(http_request_duration_seconds_bucket{le="0.4",job="checkout"}[{{.window}}]))
          )
        total_query: sum(rate(http_request_duration_seconds_count{job="checkout"}[{{.window}}]))
    alerting:
      name: CheckoutLatency
      page_alert:
        labels:
          severity: critical
      ticket_alert:
        disable: true
  - name: "cache-hits"
    objective: 95
    sli:
      raw:
        error_ratio_query: |
          1 - (sum(rate(cache_hits_total[{{.window}}])) / sum(rate(cache_requests_total[{{.window}}])))
    alerting:
      name: CacheMisses
`;

describe("Sloth's prometheus/v1 format", () => {
  it('a file written as Sloth documents it is accepted and generates its alerts with its labels', () => {
    const file = parseSloText(SLOTH_STYLE, 'slos/checkout.yml');
    expect(file.slos.map((s) => s.name)).toEqual(['requests-availability', 'requests-latency', 'cache-hits']);
    const groups = generateGroups(file);
    const alerts = groups.filter((g) => g.name.startsWith('slo-alerts-')).flatMap((g) => g.rules);
    const page = alerts.find((r) => r.alert === 'CheckoutHighErrorRate' && r.labels?.sloth_severity === 'page')!;
    // The SLO's own alert labels win over Vigil's default severities, as in Sloth.
    expect(page.labels).toMatchObject({ severity: 'pageteam', routing_key: 'payments', category: 'availability', owner: 'payments', tier: '1' });
    expect(page.annotations?.summary).toBe('High error rate on checkout responses');
    const ticket = alerts.find((r) => r.alert === 'CheckoutHighErrorRate' && r.labels?.sloth_severity === 'ticket')!;
    expect(ticket.labels).toMatchObject({ severity: 'slack', slack_channel: '#alerts-payments' });
    expect(alerts.filter((r) => r.alert === 'CheckoutLatency').map((r) => r.labels?.sloth_severity)).toEqual(['page']);
    expect(alerts.filter((r) => r.alert === 'CacheMisses').map((r) => r.labels?.severity)).toEqual(['critical', 'warning']);
    const recordings = groups.flatMap((g) => g.rules).filter((r) => r.record === 'slo:sli_error:ratio_rate1h');
    expect(recordings.map((r) => r.labels?.sloth_slo)).toEqual(['requests-availability', 'requests-latency', 'cache-hits']);
  });

  it("Sloth's SLI plugins are refused naming the field, not ignored", () => {
    const msg = errorOf(VALID.replace('      events:', '      plugin:\n        id: sloth-common/availability\n      events:'));
    expect(msg).toMatch(/slos\/api\.yml[\s\S]*slos\[0\]\.sli: Unrecognized key: "plugin"/);
  });
});

describe('bad SLO files', () => {
  it('accept the valid example', () => {
    expect(parseSloText(VALID, 'slos/api.yml').slos[0].objective).toBe(99.5);
  });

  it('an objective outside (0, 100) names file, line and field', () => {
    for (const o of ['0', '100', '150', '-1']) {
      const msg = errorOf(VALID.replace('objective: 99.5', `objective: ${o}`));
      expect(msg).toContain('slos/api.yml');
      expect(msg).toContain('line 5: slos[0].objective: must be between 0 and 100');
    }
  });

  it('an invalid query names the field and the parse error', () => {
    const msg = errorOf(VALID.replace('sum(rate(errors_total[{{.window}}]))', 'sum(rate(errors_total[{{.window}}])'));
    expect(msg).toMatch(/line 8: slos\[0\]\.sli\.events\.error_query: invalid PromQL: .*parse error/);
  });

  it('a query without {{.window}} is rejected', () => {
    const msg = errorOf(VALID.replace('sum(rate(requests_total[{{.window}}]))', 'sum(rate(requests_total[5m]))'));
    expect(msg).toContain('line 9: slos[0].sli.events.total_query: must contain {{.window}}');
  });

  it('unknown fields are rejected where they are', () => {
    expect(errorOf(VALID.replace('    objective: 99.5', '    objective: 99.5\n    objectve: 99'))).toMatch(/line 4: slos\[0\]: Unrecognized key: "objectve"/);
    expect(errorOf(`${VALID}extra: 1\n`)).toMatch(/Unrecognized key: "extra"/);
  });

  it('duplicate SLO names, a wrong version and broken YAML are errors', () => {
    const dup = VALID + VALID.slice(VALID.indexOf('  - name:'));
    expect(errorOf(dup)).toContain('slos[1].name: duplicate SLO name "availability"');
    expect(errorOf(VALID.replace('prometheus/v1', 'openslo/v1'))).toContain('line 1: version: must be "prometheus/v1"');
    expect(errorOf(VALID.replace('service: api', 'service: [api'))).toMatch(/slos\/api\.yml:\n\s+line \d+:/);
  });

  it('hostile input: an oversized file and a YAML alias bomb are refused, not expanded', () => {
    expect(errorOf(`# ${'x'.repeat(2 * 1024 * 1024)}\n${VALID}`)).toContain('file too large');
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [*${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}]`);
    expect(errorOf(bomb.join('\n'))).toMatch(/slos\/api\.yml/);
  });
});

describe('SloRuleSource', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('a file that turns invalid keeps its last good rules; the other files keep working', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-slo-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'a.yml'), VALID);
    writeFileSync(join(dir, 'b.yml'), VALID.replace('service: api', 'service: web').replace('ApiBudgetBurn', 'WebBudgetBurn'));
    const source = new SloRuleSource(['*.yml'], dir);
    const first = source.load();
    expect(first.errors).toEqual([]);
    expect(first.groups.map((g) => g.name)).toEqual([
      'slo-sli-recordings-api-availability',
      'slo-meta-recordings-api-availability',
      'slo-alerts-api-availability',
      'slo-sli-recordings-web-availability',
      'slo-meta-recordings-web-availability',
      'slo-alerts-web-availability',
    ]);

    writeFileSync(join(dir, 'a.yml'), VALID.replace('objective: 99.5', 'objective: 100'));
    writeFileSync(join(dir, 'b.yml'), VALID.replace('service: api', 'service: web').replace('ApiBudgetBurn', 'WebBudgetBurn').replace('99.5', '99'));
    const second = source.load();
    expect(second.errors.join('\n')).toContain(`${join(dir, 'a.yml')}:\n  line 5: slos[0].objective`);
    expect(second.groups.length).toBe(6);
    const webAlerts = second.groups.find((g) => g.name === 'slo-alerts-web-availability')!;
    expect(webAlerts.rules[0].expr).toContain('14.4 * 0.01');
  });

  it('disabled alert levels generate no alert', () => {
    const text = VALID.replace('      name: ApiBudgetBurn', '      name: ApiBudgetBurn\n      ticket_alert: {disable: true}');
    const dir = mkdtempSync(join(tmpdir(), 'vigil-slo-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'a.yml'), text);
    const { groups } = new SloRuleSource(['a.yml'], dir).load();
    const alerts = groups.find((g) => g.name === 'slo-alerts-api-availability')!;
    expect(alerts.rules.map((r) => r.labels.sloth_severity)).toEqual(['page']);
  });
});

describe('rule manager with SLO files', () => {
  it('runs the generated groups beside the rule files; an invalid SLO file on reload keeps them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-slo-mgr-'));
    try {
      writeFileSync(join(dir, 'rules.yml'), 'groups:\n- name: plain\n  rules:\n  - record: x:one\n    expr: vector(1)\n');
      writeFileSync(join(dir, 'api.yml'), VALID);
      const storage = new MemoryStorage();
      const slos = new SloRuleSource(['api.yml'], dir);
      const manager = createRuleManager({
        files: ['rules.yml'],
        baseDir: dir,
        generatedGroups: () => slos.load(),
        engine: createEngine(storage),
        storage,
        sink: { send: async () => undefined },
        registry: new Registry(),
        logger: silentLogger(),
        evaluationIntervalMs: 60_000,
        externalLabels: {},
        externalUrl: '',
        now: () => 1_700_000_000_000,
      });
      expect((await manager.reload()).ok).toBe(true);
      const names = () => manager.groups().map((g) => g.name);
      expect(names()).toEqual(['plain', 'slo-sli-recordings-api-availability', 'slo-meta-recordings-api-availability', 'slo-alerts-api-availability']);
      await manager.evaluateAll();
      const objective = await createEngine(storage).instantQuery('slo:objective:ratio', 1_700_000_000_000);
      expect(objective.value.resultType === 'vector' && objective.value.result.map((r) => r.v)).toEqual([0.995]);

      writeFileSync(join(dir, 'api.yml'), VALID.replace('objective: 99.5', 'objective: 0'));
      expect((await manager.reload()).ok).toBe(true);
      expect(names()).toHaveLength(4);
      await manager.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Vigil with slo_files', () => {
  it('generates the SLO rules at start-up and on reload; an SLO file turned invalid keeps its rules, a new valid one is added', async () => {
    const d = e2eDir('slo');
    try {
      d.write('slos/api.yml', VALID);
      d.write('vigil.yml', { ...baseConfig({ evaluationInterval: '1h' }), slo_files: ['slos/*.yml'] });
      const vigil = await startVigil(loadConfig(d.configFile), { logger: silentLogger() });
      try {
        const groups = async () => {
          const body = (await (await fetch(`${vigil.url}/api/v1/rules`)).json()) as { data: { groups: Array<{ name: string; rules: Array<{ name: string; type: string }> }> } };
          return body.data.groups;
        };
        const first = await groups();
        expect(first.map((g) => g.name)).toEqual(['slo-sli-recordings-api-availability', 'slo-meta-recordings-api-availability', 'slo-alerts-api-availability']);
        expect(first[2].rules.map((r) => `${r.type}:${r.name}`)).toEqual(['alerting:ApiBudgetBurn', 'alerting:ApiBudgetBurn']);

        d.write('slos/api.yml', VALID.replace('objective: 99.5', 'objective: 100'));
        d.write('slos/web.yml', VALID.replace('service: api', 'service: web').replace('ApiBudgetBurn', 'WebBudgetBurn'));
        // The reload applies; its answer names the file left out, with line and field.
        const res = await fetch(`${vigil.url}/-/reload`, { method: 'POST' });
        const reloaded = (await res.json()) as { status: string; warnings?: string[] };
        expect(res.status, JSON.stringify(reloaded)).toBe(200);
        expect(reloaded.warnings?.join('\n')).toMatch(/slos\/api\.yml:\n\s+line 5: slos\[0\]\.objective: must be between 0 and 100/);
        const second = (await groups()).map((g) => g.name);
        expect(second).toContain('slo-alerts-api-availability');
        expect(second).toContain('slo-alerts-web-availability');
        expect(second).toHaveLength(6);
        // The reloaded api.yml still runs its last good objective.
        await vigil.rules.evaluateAll();
        const objective = await vigil.engine.instantQuery('slo:objective:ratio{sloth_service="api"}', Date.now());
        expect(objective.value.resultType === 'vector' && objective.value.result.map((x) => x.v)).toEqual([0.995]);
      } finally {
        await vigil.stop();
      }
      // `vigil check config` (and CI) still fails on the bad file, naming file, line and field.
      await expect(loadValidatedConfig(d.configFile)).rejects.toThrow(/slos\/api\.yml:\n\s+line 5: slos\[0\]\.objective: must be between 0 and 100/);
    } finally {
      d.remove();
    }
  }, 60_000);

  it('starts with a bad SLO file: the other SLO files and the rule files run, the bad one is logged', async () => {
    const d = e2eDir('slo-start');
    try {
      d.write('slos/api.yml', VALID.replace('sum(rate(errors_total[{{.window}}]))', 'sum(rate(errors_total[{{.window}}])'));
      d.write('slos/web.yml', VALID.replace('service: api', 'service: web').replace('ApiBudgetBurn', 'WebBudgetBurn'));
      d.write('rules/plain.yml', 'groups:\n- name: plain\n  rules:\n  - record: x:one\n    expr: vector(1)\n');
      d.write('vigil.yml', { ...baseConfig({ evaluationInterval: '1h' }), rule_files: ['rules/*.yml'], slo_files: ['slos/*.yml'] });
      const vigil = await startVigil(await loadValidatedConfig(d.configFile, {}, 'run'), { logger: silentLogger() });
      try {
        expect(vigil.rules.groups().map((g) => g.name)).toEqual(['plain', 'slo-sli-recordings-web-availability', 'slo-meta-recordings-web-availability', 'slo-alerts-web-availability']);
      } finally {
        await vigil.stop();
      }
    } finally {
      d.remove();
    }
  }, 60_000);
});

// Last in the file: promtool's run of the unit tests, started with Vigil's
// above, goes on while the tests in between run.
describe.skipIf(!promtool)('shipped SLOs against promtool', () => {
  it('promtool check rules accepts the generated files', async () => {
    const p = await runPromtool(['check', 'rules', ...generated]);
    expect(p.code, p.out).toBe(0);
  });
  it('promtool test rules passes the same unit tests, with the report vigil test rules prints', async () => {
    const { code, out, err } = await vigilUnitTests();
    const p = await promtoolUnitRun!;
    expect(p.code, p.out).toBe(0);
    expect(code, err.join('\n')).toBe(0);
    expect(out.join('\n').trim()).toBe(p.out.trim());
  }, 180_000);
});
