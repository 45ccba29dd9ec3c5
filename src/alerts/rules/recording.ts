import { labelsKey } from '../../model/labels.js';
import type { Labels } from '../../tsdb/types.js';
import type { RuleSpec } from './file.js';
import type { EvalContext, OutputSample, Rule, RuleHealth } from './rule.js';

/** A recording rule: stores its expression's result under a new metric name. */
export class RecordingRule implements Rule {
  readonly kind = 'record' as const;
  health: RuleHealth = 'unknown';
  lastError: string | undefined;
  lastEvaluation = 0;
  evaluationTimeMs = 0;

  constructor(
    readonly spec: RuleSpec,
    readonly groupLabels: Labels = {},
  ) {}

  get name(): string {
    return this.spec.name;
  }

  async eval(ctx: EvalContext): Promise<OutputSample[]> {
    const t = ctx.ts - ctx.queryOffsetMs;
    const res = await ctx.query(this.spec.expr, t);
    const out: OutputSample[] = [];
    const seen = new Set<string>();
    const extra = { ...this.groupLabels, ...this.spec.labels };
    for (const s of res) {
      const l: Record<string, string> = { ...s.labels, __name__: this.name, ...extra };
      for (const k of Object.keys(l)) if (l[k] === '') delete l[k];
      const key = labelsKey(l);
      if (seen.has(key)) throw new Error('vector contains metrics with the same labelset after applying rule labels');
      seen.add(key);
      out.push(s.h !== undefined ? { labels: l, t, v: s.v, h: s.h } : { labels: l, t, v: s.v });
    }
    if (ctx.limit > 0 && out.length > ctx.limit) throw new Error(`exceeded limit ${ctx.limit} with ${out.length} series`);
    return out;
  }
}
