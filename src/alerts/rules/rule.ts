import type { Labels } from '../../tsdb/types.js';
import type { RuleSpec } from './file.js';
import type { FloatHistogram } from '../../model/histogram.js';

export type RuleHealth = 'unknown' | 'ok' | 'err';

/** One element of a query result as rules see it. */
export interface VectorSample {
  labels: Labels;
  v: number;
  /** A native histogram result (v is then unused). */
  h?: FloatHistogram;
}

export interface OutputSample {
  labels: Labels;
  t: number;
  v: number;
  h?: FloatHistogram;
}

export interface EvalContext {
  ts: number;
  queryOffsetMs: number;
  limit: number;
  externalLabels: Labels;
  externalUrl: string;
  /** Instant query returning a vector (scalars as one sample without labels). */
  query(expr: string, t: number): Promise<VectorSample[]>;
}

export interface Rule {
  readonly kind: 'alert' | 'record';
  readonly name: string;
  readonly spec: RuleSpec;
  health: RuleHealth;
  lastError: string | undefined;
  lastEvaluation: number;
  evaluationTimeMs: number;
  eval(ctx: EvalContext): Promise<OutputSample[]>;
}
