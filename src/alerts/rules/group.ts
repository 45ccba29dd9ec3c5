/**
 * A rule group: its rules evaluated in order at slotted timestamps, results and
 * ALERTS series written to storage, staleness markers for series that vanish,
 * and alerts handed to the sink (Prometheus's rules/group.go).
 */
import type { Logger } from '../../logger.js';
import type { QueryEngine } from '../../promql/types.js';
import { labelsKey } from '../../model/labels.js';
import type { Labels, Storage } from '../../tsdb/types.js';
import type { Alert, AlertSink } from '../types.js';
import { AlertingRule, type ActiveAlert } from './alerting.js';
import type { GroupSpec } from './file.js';
import type { RuleMetrics } from './metrics.js';
import { RecordingRule } from './recording.js';
import type { EvalContext, OutputSample, Rule, VectorSample } from './rule.js';

/** Last ALERTS_FOR_STATE sample per series of one alert, read from wherever the rules query (an external backend). */
export type ForStateSource = (alertname: string, mint: number, maxt: number) => Promise<Array<{ labels: Labels; lastT: number; lastV: number; stale: boolean }>>;

export interface GroupOptions {
  engine: QueryEngine;
  /** Where `for` state is restored from; the local storage when absent. */
  forStateSource?: ForStateSource;
  storage: Storage;
  sink?: AlertSink;
  metrics?: RuleMetrics;
  logger?: Logger;
  defaultIntervalMs: number;
  externalLabels: Labels;
  externalUrl: string;
  resendDelayMs: number;
  outageToleranceMs: number;
  forGracePeriodMs: number;
  now: () => number;
  /** Called after each iteration (the manager saves the alert state). */
  onIterated?: () => void;
}

/**
 * How long a restored alert outlasts its absence from the results: the first
 * evaluations after a restart may run before the first scrape.
 */
const RESTORE_HOLD_MS = 10_000;

export interface GroupSnapshot {
  lastEvaluation: number;
  lastEvalTimestamp: number;
  rules: Array<{ name: string; expr: string; alerts: ActiveAlert[] }>;
}

/** Runs an instant query and shapes the result as rules need it (Prometheus's EngineQueryFunc). */
export async function queryVector(engine: QueryEngine, expr: string, t: number): Promise<VectorSample[]> {
  const r = await engine.instantQuery(expr, t);
  const v = r.value;
  if (v.resultType === 'vector') return v.result.map((s) => (s.h !== undefined ? { labels: s.labels, v: s.v, h: s.h } : { labels: s.labels, v: s.v }));
  if (v.resultType === 'scalar') return [{ labels: {}, v: v.v }];
  throw new Error('rule result is not a vector or scalar');
}

export class Group {
  readonly rules: Rule[];
  readonly intervalMs: number;
  readonly key: string;
  lastEvaluation = 0;
  lastEvalTimestamp = 0;
  evaluationTimeMs = 0;
  private seriesInPreviousEval: Array<Map<string, Labels>>;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  shouldRestore = false;
  private iterations = 0;

  constructor(
    readonly spec: GroupSpec,
    private readonly opts: GroupOptions,
  ) {
    this.rules = spec.rules.map((r) => (r.kind === 'alert' ? new AlertingRule(r, spec.labels) : new RecordingRule(r, spec.labels)));
    this.intervalMs = spec.intervalMs || opts.defaultIntervalMs;
    this.key = `${spec.file};${spec.name}`;
    this.seriesInPreviousEval = this.rules.map(() => new Map());
    opts.metrics?.groupInterval.set({ rule_group: this.key }, this.intervalMs / 1000);
    opts.metrics?.groupRules.set({ rule_group: this.key }, this.rules.length);
  }

  get name(): string {
    return this.spec.name;
  }
  get file(): string {
    return this.spec.file;
  }

  /** Evaluates every rule once at `ts`. A failing rule never stops the others. */
  async evaluate(ts: number): Promise<void> {
    const m = this.opts.metrics;
    const rg = { rule_group: this.key };
    let samplesTotal = 0;
    for (let i = 0; i < this.rules.length; i++) {
      if (this.stopped) return;
      const rule = this.rules[i];
      const start = performance.now();
      m?.evalTotal.inc(rg);
      const ctx: EvalContext = {
        ts,
        queryOffsetMs: this.spec.queryOffsetMs ?? 0,
        limit: this.spec.limit,
        externalLabels: this.opts.externalLabels,
        externalUrl: this.opts.externalUrl,
        query: (expr, t) => queryVector(this.opts.engine, expr, t),
      };
      let out: OutputSample[];
      try {
        out = await rule.eval(ctx);
        rule.health = 'ok';
        rule.lastError = undefined;
      } catch (e) {
        rule.health = 'err';
        rule.lastError = e instanceof Error ? e.message : String(e);
        m?.evalFailures.inc(rg);
        this.opts.logger?.warn({ group: this.name, file: this.file, rule: rule.name, index: i, err: rule.lastError }, 'Evaluating rule failed');
        // The state is unchanged; resending it keeps receivers from resolving
        // alerts by timeout while the query source is failing.
        if (rule instanceof AlertingRule) await this.sendAlerts(rule, ts);
        this.finishRule(rule, ts, start);
        continue;
      }
      if (rule instanceof AlertingRule && rule.templateErrors.length) {
        m?.templateErrors.inc(rg, rule.templateErrors.length);
        this.opts.logger?.warn({ group: this.name, rule: rule.name, err: rule.templateErrors[0] }, 'Expanding alert template failed');
      }
      samplesTotal += out.length;
      if (rule instanceof AlertingRule) await this.sendAlerts(rule, ts);
      await this.write(i, out, ts - ctx.queryOffsetMs);
      this.finishRule(rule, ts, start);
    }
    m?.groupSamples.set(rg, samplesTotal);
  }

  private finishRule(rule: Rule, ts: number, start: number): void {
    rule.evaluationTimeMs = performance.now() - start;
    rule.lastEvaluation = this.opts.now();
    this.opts.metrics?.evalDuration.observe(rule.evaluationTimeMs / 1000);
    void ts;
  }

  private async write(i: number, out: OutputSample[], staleT: number): Promise<void> {
    const app = this.opts.storage.appender();
    const returned = new Map<string, Labels>();
    for (const s of out) {
      const key = labelsKey(s.labels);
      try {
        if (s.h === undefined) app.append(s.labels, s.t, s.v);
        else if (app.appendHistogram !== undefined) app.appendHistogram(s.labels, s.t, s.h);
        else throw new Error('the storage does not keep native histograms');
      } catch (e) {
        this.opts.logger?.warn({ group: this.name, err: (e as Error).message }, 'Rule sample appending failed');
      }
      returned.set(key, s.labels);
    }
    for (const [key, labels] of this.seriesInPreviousEval[i]) {
      if (!returned.has(key)) {
        try {
          app.appendStale(labels, staleT);
        } catch {
          // Out of order staleness markers are dropped, as in Prometheus.
        }
      }
    }
    this.seriesInPreviousEval[i] = returned;
    try {
      await app.commit();
    } catch (e) {
      this.opts.logger?.warn({ group: this.name, err: (e as Error).message }, 'Rule sample commit failed');
    }
  }

  private async sendAlerts(rule: AlertingRule, ts: number): Promise<void> {
    if (!this.opts.sink) return;
    const due = rule.alertsToSend(ts, this.opts.resendDelayMs, this.intervalMs);
    if (!due.length) return;
    const ext = this.opts.externalLabels;
    const alerts: Alert[] = due.map((a) => {
      const labels: Record<string, string> = { ...a.labels };
      for (const [k, v] of Object.entries(ext)) if (!labels[k]) labels[k] = v;
      return {
        labels,
        annotations: a.annotations,
        startsAt: new Date(a.firedAt),
        endsAt: new Date(a.resolvedAt ? a.resolvedAt : a.validUntil),
        generatorURL: this.opts.externalUrl.replace(/\/$/, '') + `/graph?g0.expr=${encodeURIComponent(rule.spec.expr)}&g0.tab=1`,
      };
    });
    try {
      await this.opts.sink.send(alerts);
    } catch (e) {
      this.opts.logger?.warn({ group: this.name, rule: rule.name, err: (e as Error).message }, 'Sending alerts failed');
    }
  }

  /** Group's slot offset: spreads groups over the interval, stable per name and file. */
  evalTimestamp(nowMs: number): number {
    const offset = fnv1a(`${this.spec.file}\u0000${this.spec.name}`) % this.intervalMs;
    const adj = nowMs - offset;
    return adj - (adj % this.intervalMs) + offset;
  }

  /** Starts evaluating on the group's interval, at slotted times. */
  start(): void {
    this.stopped = false;
    let evalTs = this.evalTimestamp(this.opts.now()) + this.intervalMs;
    const tick = () => {
      if (this.stopped) return;
      const now = this.opts.now();
      // Slots that passed while the previous evaluation ran are missed, not queued.
      const missed = Math.max(0, Math.floor((now - evalTs) / this.intervalMs));
      if (missed > 0) {
        this.opts.metrics?.iterationsMissed.inc({ rule_group: this.key }, missed);
        this.opts.metrics?.iterationsScheduled.inc({ rule_group: this.key }, missed);
        evalTs += missed * this.intervalMs;
      }
      const ts = evalTs;
      this.running = this.iterate(ts);
      void this.running.finally(() => {
        if (this.stopped) return;
        evalTs += this.intervalMs;
        this.timer = setTimeout(tick, Math.max(0, evalTs - this.opts.now()));
      });
    };
    this.timer = setTimeout(tick, Math.max(0, evalTs - this.opts.now()));
  }

  async iterate(ts: number): Promise<void> {
    const rg = { rule_group: this.key };
    this.opts.metrics?.iterationsScheduled.inc(rg);
    const start = performance.now();
    const wall = this.opts.now();
    try {
      await this.evaluate(ts);
    } catch (e) {
      this.opts.logger?.error({ group: this.name, err: (e as Error).message }, 'Rule group evaluation failed');
    }
    this.evaluationTimeMs = performance.now() - start;
    this.lastEvaluation = wall;
    this.lastEvalTimestamp = ts;
    this.opts.metrics?.groupDuration.observe(this.evaluationTimeMs / 1000);
    this.opts.metrics?.lastDuration.set(rg, this.evaluationTimeMs / 1000);
    this.opts.metrics?.lastEvalTime.set(rg, wall / 1000);
    this.iterations++;
    this.opts.onIterated?.();
    // As Prometheus: restore `for` state after the second evaluation, once
    // recording rules have caught up.
    if (this.shouldRestore && this.iterations === 2) {
      this.shouldRestore = false;
      await this.restoreForState(this.opts.now());
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Marks every series this group wrote as stale (group removed on reload). */
  async markStale(): Promise<void> {
    const app = this.opts.storage.appender();
    const t = this.opts.now();
    for (const prev of this.seriesInPreviousEval) for (const l of prev.values()) {
      try {
        app.appendStale(l, t);
      } catch {
        // ignore out-of-order markers
      }
    }
    await app.commit().catch(() => undefined);
  }

  /** Copies alert state from the same group before a reload, as Prometheus's CopyState. */
  copyState(from: Group): void {
    this.seriesInPreviousEval = this.rules.map((r, i) => {
      const j = from.rules.findIndex((o) => o.name === r.name && o.kind === r.kind);
      return j >= 0 ? (from.seriesInPreviousEval[j] ?? new Map()) : (from.seriesInPreviousEval[i] ?? new Map());
    });
    this.lastEvaluation = from.lastEvaluation;
    this.lastEvalTimestamp = from.lastEvalTimestamp;
    this.evaluationTimeMs = from.evaluationTimeMs;
    const used = new Set<number>();
    for (const r of this.rules) {
      if (!(r instanceof AlertingRule)) continue;
      const j = from.rules.findIndex((o, k) => !used.has(k) && o instanceof AlertingRule && o.name === r.name && o.spec.expr === r.spec.expr);
      if (j < 0) continue;
      used.add(j);
      const old = from.rules[j] as AlertingRule;
      for (const [k, a] of old.active) r.active.set(k, a);
      r.restored = old.restored;
      r.health = old.health;
      r.lastError = old.lastError;
      r.lastEvaluation = old.lastEvaluation;
      r.evaluationTimeMs = old.evaluationTimeMs;
    }
  }

  /** What restoreSnapshot needs after a restart: each alerting rule's alerts, keyed by name and expression. */
  snapshot(): GroupSnapshot {
    const rules: GroupSnapshot['rules'] = [];
    for (const r of this.rules) if (r instanceof AlertingRule) rules.push({ name: r.name, expr: r.spec.expr, alerts: r.snapshot() });
    return { lastEvaluation: this.lastEvaluation, lastEvalTimestamp: this.lastEvalTimestamp, rules };
  }

  /** Takes back a snapshot saved at shutdown; rules whose name or expression changed start afresh. */
  restoreSnapshot(s: GroupSnapshot, downMs: number): number {
    this.lastEvaluation = s.lastEvaluation;
    this.lastEvalTimestamp = s.lastEvalTimestamp;
    let n = 0;
    const used = new Set<number>();
    for (const r of this.rules) {
      if (!(r instanceof AlertingRule)) continue;
      const j = s.rules.findIndex((o, k) => !used.has(k) && o.name === r.name && o.expr === r.spec.expr);
      if (j < 0) continue;
      used.add(j);
      n += r.restoreSnapshot(s.rules[j].alerts, downMs, this.opts.now() + Math.max(3 * this.intervalMs, RESTORE_HOLD_MS));
    }
    return n;
  }

  /** Restores pending/firing `for` state from ALERTS_FOR_STATE written before a restart. */
  async restoreForState(now: number): Promise<void> {
    for (const r of this.rules) {
      // Rules restored from the shutdown snapshot already have their exact state.
      if (!(r instanceof AlertingRule) || r.restored) continue;
      try {
        const source = this.opts.forStateSource;
        const series = source ? await source(r.name, now - this.opts.outageToleranceMs, now) : this.localForState(r.name, now);
        const n = r.restoreFrom(series, now, this.opts.forGracePeriodMs);
        if (n) this.opts.logger?.info({ group: this.name, rule: r.name, alerts: n }, 'Restored for-state of alerts');
      } catch (e) {
        r.restored = true;
        this.opts.logger?.warn({ group: this.name, rule: r.name, err: (e as Error).message }, 'Failed to restore for-state');
      }
    }
  }

  private localForState(alertname: string, now: number): Array<{ labels: Labels; lastT: number; lastV: number; stale: boolean }> {
    return this.opts.storage
      .querier()
      .select(
        [
          { type: '=', name: '__name__', value: 'ALERTS_FOR_STATE' },
          { type: '=', name: 'alertname', value: alertname },
        ],
        now - this.opts.outageToleranceMs,
        now,
      )
      .map((s) => {
        const n = s.t.length - 1;
        return { labels: s.labels, lastT: s.t[n], lastV: s.v[n], stale: s.stale?.[n] === 1 };
      });
  }
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
