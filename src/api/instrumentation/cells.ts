/**
 * Counter and histogram families the request hooks update with plain number
 * arithmetic. prom-client hashes the label set on every `inc`/`observe` (even
 * through `labels()` children), which costs more than the rest of the
 * instrumentation together; a cell is looked up once per route and status and
 * then only added to. Each family registers with a prom-client Registry like
 * its own metrics, so /metrics, OpenMetrics and `registry.resetMetrics()` see it.
 */
import type { Metric, MetricValueWithName, Registry } from 'prom-client';

type Labels = Record<string, string | number>;

export interface CounterCell {
  readonly labels: Readonly<Labels>;
  value: number;
}

export interface HistogramCell {
  readonly labels: Readonly<Labels>;
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** What the registry reads from a metric when it renders /metrics. */
interface FamilySnapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: MetricValueWithName<string>[];
}

interface FamilyConfig {
  name: string;
  help: string;
  registers: Registry[];
}

abstract class CellFamily {
  readonly name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum' as const;

  constructor(config: FamilyConfig) {
    this.name = config.name;
    this.help = config.help;
    // The registry takes any object with name, help, type and get(); its types only list its own classes.
    for (const r of config.registers) r.registerMetric(this as unknown as Metric);
  }

  abstract get(): Promise<FamilySnapshot>;
  abstract reset(): void;

  protected result(values: MetricValueWithName<string>[]): FamilySnapshot {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

export class CellCounter extends CellFamily {
  readonly type = 'counter' as const;
  private readonly cells: CounterCell[] = [];

  /** A new series for `labels`; the caller keeps it and adds to `value`. */
  cell(labels: Labels): CounterCell {
    const c: CounterCell = { labels, value: 0 };
    this.cells.push(c);
    return c;
  }

  async get() {
    return this.result(this.cells.map((c) => ({ labels: c.labels, value: c.value })));
  }

  reset(): void {
    for (const c of this.cells) c.value = 0;
  }
}

export class CellHistogram extends CellFamily {
  readonly type = 'histogram' as const;
  private readonly cells: HistogramCell[] = [];
  readonly bounds: readonly number[];

  constructor(config: FamilyConfig & { buckets: readonly number[] }) {
    super(config);
    this.bounds = [...config.buckets].sort((a, b) => a - b);
  }

  cell(labels: Labels): HistogramCell {
    const c: HistogramCell = { labels, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
    this.cells.push(c);
    return c;
  }

  /** Adds one observation to a cell: a scan of a dozen bounds, no allocation. */
  observe(c: HistogramCell, value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]) i++;
    c.counts[i]++;
    c.sum += value;
    c.count++;
  }

  async get() {
    const values: MetricValueWithName<string>[] = [];
    const bucket = `${this.name}_bucket`;
    for (const c of this.cells) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += c.counts[i];
        values.push({ labels: { ...c.labels, le: this.bounds[i] }, value: cumulative, metricName: bucket });
      }
      values.push({ labels: { ...c.labels, le: '+Inf' }, value: c.count, metricName: bucket });
      values.push({ labels: c.labels, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: c.labels, value: c.count, metricName: `${this.name}_count` });
    }
    return this.result(values);
  }

  reset(): void {
    for (const c of this.cells) {
      c.counts.fill(0);
      c.sum = 0;
      c.count = 0;
    }
  }
}
