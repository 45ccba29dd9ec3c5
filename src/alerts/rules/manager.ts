/**
 * The rule manager: loads rule files into groups, runs each group on its
 * interval, swaps groups on reload (keeping alert state of unchanged rules),
 * and restores `for` state after a restart (Prometheus's rules/manager.go).
 */
import type { Registry } from 'prom-client';
import type { Component } from '../../component.js';
import type { Logger } from '../../logger.js';
import type { QueryEngine } from '../../promql/types.js';
import type { Labels, Storage } from '../../tsdb/types.js';
import type { AlertSink } from '../types.js';
import { AlertingRule, type ActiveAlert } from './alerting.js';
import { loadRuleFile, type GroupSpec } from './file.js';
import { resolveRuleFiles } from './files.js';
import { Group, type ForStateSource, type GroupSnapshot } from './group.js';
import { JsonFile } from '../notify/persist.js';
import { RuleMetrics } from './metrics.js';

export interface RuleManagerOptions {
  /** rule_files entries: paths or globs, relative to baseDir. */
  files: string[];
  baseDir: string;
  engine: QueryEngine;
  /** The engine for one rule file's groups, when not `engine` (rules evaluated locally next to an external backend). */
  engineFor?: (file: string) => QueryEngine;
  /** Where `for` state is restored from after a restart; `storage` when absent. */
  forStateSource?: ForStateSource;
  storage: Storage;
  sink: AlertSink;
  registry: Registry;
  logger: Logger;
  /** global.evaluation_interval: the interval of groups without their own. */
  evaluationIntervalMs: number;
  externalLabels: Labels;
  externalUrl: string;
  now?: () => number;
  /** Minimum time between re-sends of a firing alert (Prometheus --rules.alert.resend-delay, 1m). */
  resendDelayMs?: number;
  /** How far back ALERTS_FOR_STATE is read on restart (--rules.alert.for-outage-tolerance, 1h). */
  outageToleranceMs?: number;
  /**
   * Minimum `for` left after a restart (--rules.alert.for-grace-period). Prometheus
   * defaults to 10m and skips restoring rules with a shorter `for`; Vigil defaults
   * to 0 so short `for:` values keep their pending time across restarts too.
   */
  forGracePeriodMs?: number;
  /**
   * Where alert state is saved (after each evaluation and at shutdown) so a
   * restart brings firing alerts back firing, with their activeAt. Without it,
   * only the ALERTS_FOR_STATE restore (Prometheus's) applies.
   */
  stateFile?: string;
  /**
   * Groups generated elsewhere (SLO files), loaded with every reload. Their
   * errors are logged but never block the rule files' groups.
   */
  generatedGroups?: () => { groups: GroupSpec[]; errors: string[] };
}

interface SavedState {
  savedAt: number;
  groups: Record<string, GroupSnapshot>;
}

export interface RuleGroupView {
  name: string;
  file: string;
  intervalMs: number;
  limit: number;
  lastEvaluation: number;
  evaluationTimeMs: number;
  rules: RuleView[];
}

export type RuleView =
  | {
      type: 'alerting';
      name: string;
      query: string;
      forMs: number;
      keepFiringForMs: number;
      labels: Labels;
      annotations: Labels;
      state: 'inactive' | 'pending' | 'firing';
      alerts: AlertView[];
      health: 'unknown' | 'ok' | 'err';
      lastError?: string;
      lastEvaluation: number;
      evaluationTimeMs: number;
    }
  | {
      type: 'recording';
      name: string;
      query: string;
      labels: Labels;
      health: 'unknown' | 'ok' | 'err';
      lastError?: string;
      lastEvaluation: number;
      evaluationTimeMs: number;
    };

export interface AlertView {
  labels: Labels;
  annotations: Labels;
  state: 'pending' | 'firing';
  activeAt: number;
  keepFiringSince?: number;
  value: number;
}

export interface RuleManager extends Component {
  /** `warnings`: SLO files left out (each keeps its last good rules), the reload itself applied. */
  reload(files?: string[]): Promise<{ ok: boolean; errors: string[]; warnings?: string[] }>;
  /** New global evaluation settings, in force from the next reload (which rebuilds the groups, keeping alert state). */
  reconfigure(o: { evaluationIntervalMs: number; externalLabels: Labels }): void;
  groups(): RuleGroupView[];
  alerts(): AlertView[];
  /** Evaluates every group once now (used by tests and `--once` style tools). */
  evaluateAll(ts?: number): Promise<void>;
}

/** Loads and validates rule files; all or nothing. */
export function loadGroupSpecs(patterns: string[], baseDir: string): { groups: GroupSpec[]; errors: string[] } {
  const { files, errors } = resolveRuleFiles(patterns, baseDir);
  const groups: GroupSpec[] = [];
  for (const f of files) {
    const r = loadRuleFile(f);
    errors.push(...r.errors);
    groups.push(...r.groups);
  }
  return { groups, errors };
}

export function createRuleManager(opts: RuleManagerOptions): RuleManager {
  const now = opts.now ?? Date.now;
  const metrics = new RuleMetrics(opts.registry);
  const log = opts.logger.child({ component: 'rules' });
  let groups = new Map<string, Group>();
  let files = [...opts.files];
  let started = false;
  let firstLoad = true;
  let reloading: Promise<unknown> = Promise.resolve();
  const stateFile = opts.stateFile
    ? new JsonFile<SavedState>(opts.stateFile, () => ({ savedAt: now(), groups: Object.fromEntries([...groups].map(([k, g]) => [k, g.snapshot()])) }))
    : undefined;
  const save = () => void stateFile?.save().catch((err: Error) => log.warn({ err: err.message }, 'saving alert state failed'));

  /** Reads the state saved before a restart; too old (past the outage tolerance) or unreadable counts as none. */
  function readSaved(): SavedState | undefined {
    try {
      const s = stateFile?.read();
      if (s && now() - s.savedAt <= (opts.outageToleranceMs ?? 3_600_000)) return s;
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'ignoring unreadable alert state');
    }
    return undefined;
  }

  const groupOpts = {
    engine: opts.engine,
    forStateSource: opts.forStateSource,
    storage: opts.storage,
    sink: opts.sink,
    metrics,
    logger: log,
    defaultIntervalMs: opts.evaluationIntervalMs,
    externalLabels: opts.externalLabels,
    externalUrl: opts.externalUrl,
    resendDelayMs: opts.resendDelayMs ?? 60_000,
    outageToleranceMs: opts.outageToleranceMs ?? 3_600_000,
    forGracePeriodMs: opts.forGracePeriodMs ?? 0,
    now,
    onIterated: save,
  };

  async function apply(specs: GroupSpec[]): Promise<void> {
    const next = new Map<string, Group>();
    const saved = firstLoad ? readSaved() : undefined;
    let restored = 0;
    for (const spec of specs) {
      const g = new Group(spec, opts.engineFor ? { ...groupOpts, engine: opts.engineFor(spec.file) } : groupOpts);
      const old = groups.get(g.key);
      if (old) g.copyState(old);
      if (firstLoad) {
        const s = saved?.groups[g.key];
        if (s) restored += g.restoreSnapshot(s, now() - saved!.savedAt);
        g.shouldRestore = true;
      } else if (!old) for (const r of g.rules) if (r instanceof AlertingRule) r.restored = true;
      next.set(g.key, g);
    }
    if (restored) log.info({ alerts: restored }, 'Restored alert state saved at shutdown');
    firstLoad = false;
    const previous = groups;
    await Promise.all([...previous.values()].map((g) => g.stop()));
    for (const [k, g] of previous) {
      if (!next.has(k)) {
        await g.markStale();
        metrics.remove(k);
      }
    }
    groups = next;
    if (started) for (const g of groups.values()) g.start();
  }

  async function reload(newFiles?: string[]): Promise<{ ok: boolean; errors: string[]; warnings?: string[] }> {
    const run = reloading.then(async () => {
      const list = newFiles ?? files;
      const { groups: specs, errors } = loadGroupSpecs(list, opts.baseDir);
      if (errors.length) {
        log.error({ errors }, 'Loading rule files failed; the running rules stay in force');
        return { ok: false, errors };
      }
      files = [...list];
      const generated = opts.generatedGroups?.();
      if (generated?.errors.length) log.error({ errors: generated.errors }, 'Invalid SLO files; their last good rules stay in force');
      if (generated) specs.push(...generated.groups);
      await apply(specs);
      log.info({ groups: specs.length, rules: specs.reduce((n, g) => n + g.rules.length, 0) }, 'Rules loaded');
      return { ok: true, errors: [], ...(generated?.errors.length ? { warnings: generated.errors } : {}) };
    });
    reloading = run.catch(() => undefined);
    return run;
  }

  function alertView(a: ActiveAlert): AlertView | undefined {
    if (a.state === 'inactive') return undefined;
    return {
      labels: a.labels,
      annotations: a.annotations,
      state: a.state,
      activeAt: a.activeAt,
      keepFiringSince: a.keepFiringSince || undefined,
      value: a.value,
    };
  }

  return {
    name: 'rules',
    async start() {
      if (firstLoad) {
        const r = await reload();
        if (!r.ok) throw new Error(`invalid rule files:\n${r.errors.join('\n')}`);
      }
      started = true;
      for (const g of groups.values()) g.start();
    },
    async stop() {
      started = false;
      await reloading;
      await Promise.all([...groups.values()].map((g) => g.stop()));
      await stateFile?.save();
    },
    reload,
    reconfigure(o) {
      groupOpts.defaultIntervalMs = o.evaluationIntervalMs;
      groupOpts.externalLabels = o.externalLabels;
    },
    async evaluateAll(ts?: number) {
      for (const g of groups.values()) await g.iterate(ts ?? now());
    },
    groups() {
      return [...groups.values()].map((g) => ({
        name: g.name,
        file: g.file,
        intervalMs: g.intervalMs,
        limit: g.spec.limit,
        lastEvaluation: g.lastEvaluation,
        evaluationTimeMs: g.evaluationTimeMs,
        rules: g.rules.map((r): RuleView => {
          const common = {
            name: r.name,
            health: r.health,
            lastError: r.lastError,
            lastEvaluation: r.lastEvaluation,
            evaluationTimeMs: r.evaluationTimeMs,
          };
          if (r instanceof AlertingRule) {
            return {
              type: 'alerting',
              ...common,
              query: r.spec.expr,
              forMs: r.spec.forMs,
              keepFiringForMs: r.spec.keepFiringForMs,
              labels: { ...g.spec.labels, ...r.spec.labels },
              annotations: r.spec.annotations,
              state: r.state(),
              alerts: [...r.active.values()].map(alertView).filter((a): a is AlertView => !!a),
            };
          }
          return { type: 'recording', ...common, query: r.spec.expr, labels: { ...g.spec.labels, ...r.spec.labels } };
        }),
      }));
    },
    alerts() {
      const out: AlertView[] = [];
      for (const g of groups.values())
        for (const r of g.rules) if (r instanceof AlertingRule) for (const a of r.active.values()) {
          const v = alertView(a);
          if (v) out.push(v);
        }
      return out;
    },
  };
}
