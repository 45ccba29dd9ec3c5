import { Counter, Gauge, Summary, type Registry } from 'prom-client';

/** Rule evaluation metrics under Prometheus's names, labelled `rule_group="<file>;<group>"`. */
export class RuleMetrics {
  readonly evalDuration: Summary;
  readonly groupDuration: Summary;
  readonly iterationsMissed: Counter;
  readonly iterationsScheduled: Counter;
  readonly evalTotal: Counter;
  readonly evalFailures: Counter;
  readonly groupInterval: Gauge;
  readonly lastEvalTime: Gauge;
  readonly lastDuration: Gauge;
  readonly groupRules: Gauge;
  readonly groupSamples: Gauge;
  readonly templateErrors: Counter;

  constructor(registry: Registry) {
    const rg = ['rule_group'] as const;
    const reg = [registry];
    this.evalDuration = new Summary({
      name: 'prometheus_rule_evaluation_duration_seconds',
      help: 'The duration for a rule to execute.',
      percentiles: [0.5, 0.9, 0.99],
      registers: reg,
    });
    this.groupDuration = new Summary({
      name: 'prometheus_rule_group_duration_seconds',
      help: 'The duration of rule group evaluations.',
      percentiles: [0.01, 0.05, 0.5, 0.9, 0.99],
      registers: reg,
    });
    this.iterationsMissed = new Counter({
      name: 'prometheus_rule_group_iterations_missed_total',
      help: 'The total number of rule group evaluations missed due to slow rule group evaluation.',
      labelNames: rg,
      registers: reg,
    });
    this.iterationsScheduled = new Counter({
      name: 'prometheus_rule_group_iterations_total',
      help: 'The total number of scheduled rule group evaluations, whether executed or missed.',
      labelNames: rg,
      registers: reg,
    });
    this.evalTotal = new Counter({
      name: 'prometheus_rule_evaluations_total',
      help: 'The total number of rule evaluations.',
      labelNames: rg,
      registers: reg,
    });
    this.evalFailures = new Counter({
      name: 'prometheus_rule_evaluation_failures_total',
      help: 'The total number of rule evaluation failures.',
      labelNames: rg,
      registers: reg,
    });
    this.groupInterval = new Gauge({
      name: 'prometheus_rule_group_interval_seconds',
      help: 'The interval of a rule group.',
      labelNames: rg,
      registers: reg,
    });
    this.lastEvalTime = new Gauge({
      name: 'prometheus_rule_group_last_evaluation_timestamp_seconds',
      help: 'The timestamp of the last rule group evaluation in seconds.',
      labelNames: rg,
      registers: reg,
    });
    this.lastDuration = new Gauge({
      name: 'prometheus_rule_group_last_duration_seconds',
      help: 'The duration of the last rule group evaluation.',
      labelNames: rg,
      registers: reg,
    });
    this.groupRules = new Gauge({
      name: 'prometheus_rule_group_rules',
      help: 'The number of rules.',
      labelNames: rg,
      registers: reg,
    });
    this.groupSamples = new Gauge({
      name: 'prometheus_rule_group_last_evaluation_samples',
      help: 'The number of samples returned during the last rule group evaluation.',
      labelNames: rg,
      registers: reg,
    });
    this.templateErrors = new Counter({
      name: 'vigil_rule_template_errors_total',
      help: 'Label or annotation templates that failed to expand (rendered as <error expanding template: ...>).',
      labelNames: rg,
      registers: reg,
    });
  }

  /** Drops a removed group's series so /metrics does not report it forever. */
  remove(key: string): void {
    for (const m of [
      this.iterationsMissed,
      this.iterationsScheduled,
      this.evalTotal,
      this.evalFailures,
      this.groupInterval,
      this.lastEvalTime,
      this.lastDuration,
      this.groupRules,
      this.groupSamples,
      this.templateErrors,
    ]) {
      m.remove(key);
    }
  }
}
