import type { Labels } from '../tsdb/types.js';

/**
 * An alert as the rule evaluator hands it to notification, with the fields of
 * Alertmanager's postable alert. `endsAt` in the past means resolved.
 */
export interface Alert {
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly startsAt: Date;
  readonly endsAt: Date;
  readonly generatorURL?: string;
}

/** Where rule evaluation sends alerts: the embedded dispatcher or a remote Alertmanager. */
export interface AlertSink {
  send(alerts: readonly Alert[]): Promise<void>;
}
