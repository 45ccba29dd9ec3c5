/**
 * An alerting rule and its alert state machine, as Prometheus's
 * rules/alerting.go: inactive -> pending -> firing -> inactive (resolved),
 * `for`, `keep_firing_for`, resolved alerts kept 15 minutes so they are sent
 * as resolved, and the ALERTS / ALERTS_FOR_STATE series.
 */
import { labelsKey } from '../../model/labels.js';
import type { Labels } from '../../tsdb/types.js';
import type { FuncMap } from '../template/exec.js';
import { alertTemplateData, expandAlertTemplate, prometheusFuncs } from '../template/prometheus.js';
import type { RuleSpec } from './file.js';
import type { EvalContext, OutputSample, Rule, RuleHealth } from './rule.js';

export type AlertState = 'inactive' | 'pending' | 'firing';

/** Resolved alerts stay around this long so they are sent as resolved (Prometheus: 15m). */
export const RESOLVED_RETENTION_MS = 15 * 60_000;

export interface ActiveAlert {
  state: AlertState;
  labels: Labels;
  annotations: Labels;
  value: number;
  activeAt: number;
  firedAt: number;
  resolvedAt: number;
  lastSentAt: number;
  validUntil: number;
  keepFiringSince: number;
  /** Set when activeAt came from ALERTS_FOR_STATE after a restart. */
  restored: boolean;
}

export class AlertingRule implements Rule {
  readonly kind = 'alert' as const;
  readonly active = new Map<string, ActiveAlert>();
  health: RuleHealth = 'unknown';
  lastError: string | undefined;
  lastEvaluation = 0;
  evaluationTimeMs = 0;
  /** Until restored, the ALERTS series are not written (Prometheus's `restored` flag). */
  restored = false;
  /** Template expansion failures of the last evaluation (they never fail the rule). */
  templateErrors: string[] = [];

  constructor(
    readonly spec: RuleSpec,
    readonly groupLabels: Labels = {},
  ) {}

  get name(): string {
    return this.spec.name;
  }
  get holdMs(): number {
    return this.spec.forMs;
  }

  async eval(ctx: EvalContext): Promise<OutputSample[]> {
    const qt = ctx.ts - ctx.queryOffsetMs;
    const res = await ctx.query(this.spec.expr, qt);
    const funcs: FuncMap = prometheusFuncs({
      externalUrl: ctx.externalUrl,
      query: async (q) => (await ctx.query(q, ctx.ts)).map((s) => ({ labels: s.labels, value: s.v })),
    });
    const ruleLabels = { ...this.groupLabels, ...this.spec.labels };
    const current = new Map<string, ActiveAlert>();
    this.templateErrors = [];
    for (const smpl of res) {
      const data = alertTemplateData(smpl.labels, ctx.externalLabels, ctx.externalUrl, smpl.v);
      const expand = async (text: string) => {
        const r = await expandAlertTemplate(text, this.name, data, funcs);
        if (r.error) this.templateErrors.push(r.error);
        return r.text;
      };
      const lbls: Record<string, string> = { ...smpl.labels };
      delete lbls.__name__;
      for (const [k, v] of Object.entries(ruleLabels)) lbls[k] = await expand(v);
      lbls.alertname = this.name;
      for (const k of Object.keys(lbls)) if (lbls[k] === '') delete lbls[k];
      const annotations: Record<string, string> = {};
      for (const [k, v] of Object.entries(this.spec.annotations)) annotations[k] = await expand(v);
      const key = labelsKey(lbls);
      if (current.has(key)) throw new Error('vector contains metrics with the same labelset after applying alert labels');
      current.set(key, {
        state: 'pending',
        labels: lbls,
        annotations,
        value: smpl.v,
        activeAt: ctx.ts,
        firedAt: 0,
        resolvedAt: 0,
        lastSentAt: 0,
        validUntil: 0,
        keepFiringSince: 0,
        restored: false,
      });
    }
    for (const [k, a] of current) {
      const existing = this.active.get(k);
      if (existing && existing.state !== 'inactive') {
        existing.value = a.value;
        existing.annotations = a.annotations;
        continue;
      }
      this.active.set(k, a);
    }
    const out: OutputSample[] = [];
    let numActivePending = 0;
    for (const [k, a] of [...this.active]) {
      if (!current.has(k)) {
        let keepFiring = false;
        if (a.state === 'firing' && this.spec.keepFiringForMs > 0) {
          if (!a.keepFiringSince) a.keepFiringSince = ctx.ts;
          if (ctx.ts - a.keepFiringSince < this.spec.keepFiringForMs) keepFiring = true;
        }
        if (a.state === 'pending' || (a.resolvedAt && ctx.ts - a.resolvedAt > RESOLVED_RETENTION_MS)) this.active.delete(k);
        if (a.state !== 'inactive' && !keepFiring) {
          a.state = 'inactive';
          a.resolvedAt = ctx.ts;
        }
        if (!keepFiring) continue;
      } else a.keepFiringSince = 0;
      numActivePending++;
      if (a.state === 'pending' && ctx.ts - a.activeAt >= this.spec.forMs) {
        a.state = 'firing';
        // A restored alert keeps the start time it had before the restart.
        a.firedAt = a.restored ? Math.min(ctx.ts, a.activeAt + this.spec.forMs) : ctx.ts;
      }
      if (this.restored) {
        out.push({ labels: { ...a.labels, __name__: 'ALERTS', alertstate: a.state }, t: qt, v: 1 });
        out.push({ labels: { ...a.labels, __name__: 'ALERTS_FOR_STATE' }, t: qt, v: Math.floor(a.activeAt / 1000) });
      }
    }
    if (ctx.limit > 0 && numActivePending > ctx.limit) {
      this.active.clear();
      throw new Error(`exceeded limit of ${ctx.limit} with ${numActivePending} alerts`);
    }
    return out;
  }

  /** Alerts due to be sent at `ts` (Prometheus's sendAlerts/needsSending), marked as sent. */
  alertsToSend(ts: number, resendDelayMs: number, intervalMs: number): ActiveAlert[] {
    const out: ActiveAlert[] = [];
    for (const a of this.active.values()) {
      if (a.state === 'pending') continue;
      const due = a.resolvedAt > a.lastSentAt || a.lastSentAt + resendDelayMs < ts;
      if (!due) continue;
      a.lastSentAt = ts;
      // Valid for two missed evaluations or sends.
      a.validUntil = ts + 4 * Math.max(resendDelayMs, intervalMs);
      out.push({ ...a });
    }
    return out;
  }

  /** Alert state of the rule: the most severe state among its alerts. */
  state(): AlertState {
    let s: AlertState = 'inactive';
    for (const a of this.active.values()) {
      if (a.state === 'firing') return 'firing';
      if (a.state === 'pending') s = 'pending';
    }
    return s;
  }

  /** The alerts worth keeping across a restart (pending, firing, and resolved ones not yet forgotten). */
  snapshot(): ActiveAlert[] {
    return [...this.active.values()].map((a) => ({ ...a }));
  }

  /**
   * Takes back the alerts saved at shutdown: a firing alert is firing again at
   * once with its original activeAt (no pending detour), and the ALERTS series
   * are written from the first evaluation on.
   */
  restoreSnapshot(saved: readonly ActiveAlert[], downMs: number): number {
    for (const a of saved) {
      // As Prometheus: time spent down does not count towards a pending alert's `for`.
      const activeAt = a.state === 'pending' ? a.activeAt + Math.max(0, downMs) : a.activeAt;
      this.active.set(labelsKey(a.labels), { ...a, activeAt, restored: true });
    }
    this.restored = true;
    return saved.length;
  }

  /** Restores `for` state from ALERTS_FOR_STATE, as Prometheus's Group.RestoreForState. */
  restoreFrom(
    series: Array<{ labels: Labels; lastT: number; lastV: number; stale: boolean }>,
    now: number,
    forGracePeriodMs: number,
  ): number {
    const hold = this.spec.forMs;
    if (hold < forGracePeriodMs || hold === 0) {
      this.restored = true;
      return 0;
    }
    const byLabels = new Map<string, { lastT: number; lastV: number; stale: boolean }>();
    for (const s of series) {
      const l: Record<string, string> = { ...s.labels };
      delete l.__name__;
      byLabels.set(labelsKey(l), s);
    }
    let n = 0;
    for (const [k, a] of this.active) {
      const s = byLabels.get(k);
      if (!s || s.stale || !Number.isFinite(s.lastV)) continue;
      const downAt = Math.floor(s.lastT / 1000) * 1000;
      let activeAt = Math.trunc(s.lastV) * 1000;
      const remaining = hold - (downAt - activeAt);
      if (remaining <= 0) {
        // Was firing when it went down; fires again on the next evaluation.
      } else if (remaining < forGracePeriodMs) {
        activeAt = now + forGracePeriodMs - hold;
      } else {
        // Time spent down does not count as pending.
        activeAt += now - downAt;
      }
      a.activeAt = activeAt;
      a.restored = true;
      n++;
    }
    this.restored = true;
    return n;
  }
}
