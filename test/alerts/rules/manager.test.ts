/**
 * Rule manager behaviour at chosen evaluation timestamps (MemoryStorage, real
 * engine): the alert state machine, sending, restore after restart, reload,
 * failing rules and templates.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createRuleManager } from '../../../src/alerts/rules/index.js';
import type { Alert } from '../../../src/alerts/types.js';
import { silentLogger } from '../../../src/logger.js';
import { createEngine } from '../../../src/promql/index.js';
import { MemoryStorage } from '../../../src/tsdb/memory.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-rules-mgr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function ruleFile(text: string): string {
  const f = join(dir, `r${n++}.yml`);
  writeFileSync(f, text);
  return f;
}

function setup(storage: MemoryStorage, file: string, clock: { now: number }, extra: Record<string, unknown> = {}) {
  const sent: Alert[] = [];
  const registry = new Registry();
  const manager = createRuleManager({
    files: [file],
    baseDir: dir,
    engine: createEngine(storage),
    storage,
    sink: { send: async (a) => void sent.push(...a) },
    registry,
    logger: silentLogger(),
    evaluationIntervalMs: 15_000,
    externalLabels: { region: 'eu' },
    externalUrl: 'http://vigil:9470',
    now: () => clock.now,
    ...extra,
  });
  return { manager, sent, registry };
}

const ERRORS = `
groups:
- name: g
  rules:
  - alert: HighErrorRate
    expr: errors > 1
    for: 5m
    labels: {severity: critical}
    annotations:
      description: "Error rate is {{ $value }} on {{ $labels.instance }}"
`;

/** Evaluates at ts, with the wall clock at ts too. */
async function at(m: { evaluateAll(ts?: number): Promise<void> }, clock: { now: number }, ts: number) {
  clock.now = ts;
  await m.evaluateAll(ts);
}

describe('alert state machine', () => {
  it('pending -> firing after for -> resolved, with ALERTS series and sends', async () => {
    const storage = new MemoryStorage();
    const clock = { now: 0 };
    const { manager, sent } = setup(storage, ruleFile(ERRORS), clock);
    expect((await manager.reload()).ok).toBe(true);
    for (let t = 0; t <= 600_000; t += 15_000) storage.add({ __name__: 'errors', instance: 'a' }, t, t < 450_000 ? 0.1 + 0.2 + 2 : 0);
    await at(manager, clock, 0);
    await at(manager, clock, 15_000); // restore step (nothing stored yet)
    expect(manager.alerts()[0]).toMatchObject({ state: 'pending', activeAt: 0 });
    await at(manager, clock, 285_000);
    expect(manager.alerts()[0].state).toBe('pending');
    expect(sent).toHaveLength(0);
    await at(manager, clock, 300_000);
    const a = manager.alerts()[0];
    expect(a.state).toBe('firing');
    expect(a.annotations.description).toBe('Error rate is 2.3 on a');
    expect(sent).toHaveLength(1);
    expect(sent[0].labels).toEqual({ alertname: 'HighErrorRate', instance: 'a', severity: 'critical', region: 'eu' });
    expect(sent[0].startsAt.getTime()).toBe(300_000);
    // endsAt = now + 4 * max(resend delay 1m, interval 15s).
    expect(sent[0].endsAt.getTime()).toBe(300_000 + 240_000);
    // Not re-sent before the resend delay.
    await at(manager, clock, 315_000);
    expect(sent).toHaveLength(1);
    await at(manager, clock, 375_000);
    expect(sent).toHaveLength(2);
    const firingSeries = storage.querier().select([{ type: '=', name: '__name__', value: 'ALERTS' }, { type: '=', name: 'alertstate', value: 'firing' }], 0, 1e12);
    expect(firingSeries).toHaveLength(1);
    // Resolution: sent once with endsAt = resolution time.
    await at(manager, clock, 450_000);
    expect(manager.alerts()).toHaveLength(0);
    const last = sent[sent.length - 1];
    expect(last.endsAt.getTime()).toBe(450_000);
    // ALERTS series went stale.
    const s = storage.querier().select([{ type: '=', name: '__name__', value: 'ALERTS' }, { type: '=', name: 'alertstate', value: 'firing' }], 0, 1e12)[0];
    expect(s.stale?.[s.stale.length - 1]).toBe(1);
  });

  it('keep_firing_for holds a firing alert; limit fails the rule, not the group', async () => {
    const storage = new MemoryStorage();
    const clock = { now: 0 };
    const file = ruleFile(`
groups:
- name: k
  limit: 1
  rules:
  - alert: Flappy
    expr: flap > 0
    keep_firing_for: 1m
  - alert: TooMany
    expr: many > 0
  - record: job:many:count
    expr: count(many)
`);
    const { manager } = setup(storage, file, clock);
    await manager.reload();
    storage.add({ __name__: 'flap' }, 0, 1);
    storage.add({ __name__: 'flap' }, 15_000, 0);
    for (const i of ['x', 'y']) storage.add({ __name__: 'many', i }, 0, 1);
    await at(manager, clock, 0);
    await at(manager, clock, 15_000);
    await at(manager, clock, 30_000);
    const rules = manager.groups()[0].rules;
    expect(rules[0]).toMatchObject({ name: 'Flappy', state: 'firing', health: 'ok' });
    expect(rules[1]).toMatchObject({ name: 'TooMany', health: 'err', lastError: 'exceeded limit of 1 with 2 alerts' });
    expect(rules[2]).toMatchObject({ name: 'job:many:count', health: 'ok' });
    await at(manager, clock, 90_000);
    expect(manager.groups()[0].rules[0]).toMatchObject({ state: 'inactive' });
  });
});

describe('restart', () => {
  it('restores pending time from ALERTS_FOR_STATE: downtime does not count, pending time is kept', async () => {
    const storage = new MemoryStorage();
    const clock = { now: 0 };
    const file = ruleFile(ERRORS);
    for (let t = 0; t <= 900_000; t += 15_000) storage.add({ __name__: 'errors', instance: 'a' }, t, 5);
    const first = setup(storage, file, clock);
    await first.manager.reload();
    for (let t = 0; t <= 120_000; t += 15_000) await at(first.manager, clock, t);
    expect(first.manager.alerts()[0]).toMatchObject({ state: 'pending', activeAt: 0 });
    await first.manager.stop();

    // Down from 120s to 300s; a new manager on the same storage.
    const second = setup(storage, file, clock);
    await second.manager.reload();
    await at(second.manager, clock, 300_000);
    expect(second.manager.alerts()[0].activeAt).toBe(300_000);
    await at(second.manager, clock, 315_000); // second evaluation: restore
    // Pending for 120s before going down: it now counts 120s pending.
    expect(second.manager.alerts()[0].activeAt).toBe(315_000 - 120_000);
    await at(second.manager, clock, 480_000);
    expect(second.manager.alerts()[0].state).toBe('pending');
    await at(second.manager, clock, 495_000);
    expect(second.manager.alerts()[0].state).toBe('firing');
    // The restored alert keeps its start: activeAt + for.
    expect(second.sent[0].startsAt.getTime()).toBe(195_000 + 300_000);
  });

  it('an alert firing before the restart fires again on the first evaluations after restore', async () => {
    const storage = new MemoryStorage();
    const clock = { now: 0 };
    const file = ruleFile(ERRORS);
    for (let t = 0; t <= 900_000; t += 15_000) storage.add({ __name__: 'errors', instance: 'a' }, t, 5);
    const first = setup(storage, file, clock);
    await first.manager.reload();
    for (let t = 0; t <= 360_000; t += 15_000) await at(first.manager, clock, t);
    expect(first.manager.alerts()[0].state).toBe('firing');
    const second = setup(storage, file, clock);
    await second.manager.reload();
    await at(second.manager, clock, 375_000);
    await at(second.manager, clock, 390_000);
    await at(second.manager, clock, 405_000);
    expect(second.manager.alerts()[0]).toMatchObject({ state: 'firing', activeAt: 0 });
    expect(second.sent[0].startsAt.getTime()).toBe(300_000);
  });
});

describe('restart with saved alert state', () => {
  it('a firing alert is firing at once after the restart, before any evaluation, with its original activeAt', async () => {
    const storage = new MemoryStorage();
    const clock = { now: 0 };
    const file = ruleFile(ERRORS);
    const stateFile = join(dir, `state-${n++}.json`);
    for (let t = 0; t <= 900_000; t += 15_000) storage.add({ __name__: 'errors', instance: 'a' }, t, 5);
    const first = setup(storage, file, clock, { stateFile });
    await first.manager.reload();
    for (let t = 0; t <= 360_000; t += 15_000) await at(first.manager, clock, t);
    expect(first.manager.alerts()[0]).toMatchObject({ state: 'firing', activeAt: 0 });
    const lastEvaluation = first.manager.groups()[0].lastEvaluation;
    await first.manager.stop();

    clock.now = 400_000;
    const second = setup(storage, file, clock, { stateFile });
    await second.manager.reload();
    expect(second.manager.alerts()).toEqual([expect.objectContaining({ state: 'firing', activeAt: 0 })]);
    expect(second.manager.groups()[0].lastEvaluation).toBe(lastEvaluation);
    // Still firing on the next evaluations, never pending; no new firing notification (resend delay kept).
    await at(second.manager, clock, 405_000);
    expect(second.manager.alerts()[0]).toMatchObject({ state: 'firing', activeAt: 0 });
    await at(second.manager, clock, 420_000);
    expect(second.manager.alerts()[0]).toMatchObject({ state: 'firing', activeAt: 0 });
    expect(second.sent.every((a) => a.startsAt.getTime() === 300_000)).toBe(true);
  });

  it('a pending alert keeps its pending time, not the downtime; stale or corrupt state is ignored', async () => {
    const storage = new MemoryStorage();
    const clock = { now: 0 };
    const file = ruleFile(ERRORS);
    const stateFile = join(dir, `state-${n++}.json`);
    for (let t = 0; t <= 900_000; t += 15_000) storage.add({ __name__: 'errors', instance: 'a' }, t, 5);
    const first = setup(storage, file, clock, { stateFile });
    await first.manager.reload();
    for (let t = 0; t <= 120_000; t += 15_000) await at(first.manager, clock, t);
    await first.manager.stop();
    clock.now = 300_000;
    const second = setup(storage, file, clock, { stateFile });
    await second.manager.reload();
    expect(second.manager.alerts()[0]).toMatchObject({ state: 'pending', activeAt: 300_000 - 120_000 });

    writeFileSync(stateFile, '{not json');
    const third = setup(storage, file, clock, { stateFile });
    expect((await third.manager.reload()).ok).toBe(true);
    expect(third.manager.alerts()).toEqual([]);
  });
});

describe('reload and failures', () => {
  it('rejects an invalid new file with file, group, rule and line; running rules stay', async () => {
    const storage = new MemoryStorage();
    const clock = { now: 0 };
    const file = ruleFile(ERRORS);
    const { manager } = setup(storage, file, clock);
    expect((await manager.reload()).ok).toBe(true);
    const bad = ruleFile(`
groups:
- name: broken
  rules:
  - alert: Typo
    expr: rate(http_requests_total[5m] > 1
  - alert: BadTemplate
    expr: up == 0
    annotations:
      description: "{{ $labels.instance "
`);
    const r = await manager.reload([bad]);
    expect(r.ok).toBe(false);
    expect(r.errors[0]).toMatch(new RegExp(`^${bad}: 6:11: group "broken", rule 1, "Typo": could not parse expression: `));
    expect(r.errors[1]).toMatch(/group "broken", rule 2, "BadTemplate": annotation "description": template: __alert_BadTemplate:1: /);
    expect(manager.groups().map((g) => g.name)).toEqual(['g']);
    // A valid reload swaps the groups.
    const good = ruleFile('groups:\n- name: other\n  rules:\n  - record: x:sum\n    expr: sum(errors)\n');
    expect((await manager.reload([good])).ok).toBe(true);
    expect(manager.groups().map((g) => g.name)).toEqual(['other']);
  });

  it('a failing rule or template never stops its group or other groups', async () => {
    const storage = new MemoryStorage();
    const clock = { now: 0 };
    storage.add({ __name__: 'up', job: 'x', instance: 'i' }, 0, 0);
    storage.add({ __name__: 'dup', a: '1', b: '1' }, 0, 1);
    storage.add({ __name__: 'dup', a: '1', b: '2' }, 0, 1);
    const file = ruleFile(`
groups:
- name: first
  rules:
  - record: not_vector
    expr: '"a string"'
  - alert: Collides
    expr: dup > 0
    labels: {b: fixed}
  - alert: BadTemplateAtRuntime
    expr: up == 0
    annotations:
      description: '{{ humanize "not a number" }}'
      ok: 'instance {{ $labels.instance }}'
- name: second
  rules:
  - alert: Down
    expr: up == 0
`);
    const { manager, registry } = setup(storage, file, clock);
    await manager.reload();
    await at(manager, clock, 0);
    const [first, second] = manager.groups();
    expect(first.rules[0]).toMatchObject({ health: 'err', lastError: 'rule result is not a vector or scalar' });
    expect(first.rules[1]).toMatchObject({ health: 'err', lastError: 'vector contains metrics with the same labelset after applying alert labels' });
    expect(first.rules[2]).toMatchObject({ health: 'ok', state: 'firing' });
    const alert = manager.alerts().find((a) => a.labels.alertname === 'BadTemplateAtRuntime')!;
    expect(alert.annotations.ok).toBe('instance i');
    expect(alert.annotations.description).toBe(
      '<error expanding template: error executing template __alert_BadTemplateAtRuntime: template: __alert_BadTemplateAtRuntime:1:115: executing "__alert_BadTemplateAtRuntime" at <humanize "not a number">: error calling humanize: strconv.ParseFloat: parsing "not a number": invalid syntax>',
    );
    expect(second.rules[0]).toMatchObject({ health: 'ok', state: 'firing' });
    const failures = await registry.getSingleMetricAsString('prometheus_rule_evaluation_failures_total');
    expect(failures).toContain(`rule_group="${file};first"} 2`);
    const rules = await registry.getSingleMetricAsString('prometheus_rule_group_rules');
    expect(rules).toContain(`rule_group="${file};second"} 1`);
  });
});
