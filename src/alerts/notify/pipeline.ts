/**
 * The chain one group flush goes through (see stages.ts): inhibit → time
 * intervals → silence → fan-out to the receiver's integrations, each with
 * lease → dedup → retry → record.
 */
import type { Logger } from '../../logger.js';
import type { Clock } from './clock.js';
import type { GroupFlush } from './dispatch.js';
import type { FiringAlert, Inhibitor } from './inhibit.js';
import type { SilenceService } from './silence-service.js';
import { dedupStage, fanoutStage, inhibitStage, recordStage, retryStage, runStages, silenceStage, timeIntervalStage, type NotifyMetrics, type Stage } from './stages.js';
import type { NotifyState } from './state.js';
import type { TimeIntervals } from './time-intervals.js';
import type { Integration } from './types.js';

export { needsUpdate } from './stages.js';

export interface PipelineDeps {
  state: NotifyState;
  inhibitor: Inhibitor;
  silences: SilenceService;
  intervals: TimeIntervals;
  integrations: Map<string, Integration[]>;
  /** Currently firing alerts, for inhibition. */
  firing: () => Iterable<FiringAlert>;
  logger: Logger;
  externalUrl: string;
  dashboardUrl?: string;
  nflogRetentionMs: number;
  minRetryBudgetMs: number;
  signal: AbortSignal;
  /** Told of each send given up because `signal` aborted (shutdown). */
  onAbandoned?: () => void;
  metrics: NotifyMetrics;
  clock: Clock;
}

export class Pipeline {
  private readonly stages: Stage[];

  constructor(private readonly d: PipelineDeps) {
    this.stages = [
      inhibitStage(d.inhibitor, d.firing),
      timeIntervalStage(d.intervals),
      silenceStage(d.silences),
      fanoutStage(
        d.integrations,
        d.state,
        [
          dedupStage(d.state),
          retryStage({ externalUrl: d.externalUrl, dashboardUrl: d.dashboardUrl, minRetryBudgetMs: d.minRetryBudgetMs, signal: d.signal, metrics: d.metrics, clock: d.clock }),
          recordStage(d.state, d.nflogRetentionMs),
        ],
        d.minRetryBudgetMs,
        { signal: d.signal, onAbandoned: () => d.onAbandoned?.() },
      ),
    ];
  }

  /** True when the flush completed (sent, deduplicated or muted); false to try again. */
  async flush(f: GroupFlush): Promise<boolean> {
    // Shutting down: nothing new is sent; the alerts are saved and the next start sends them.
    if (this.d.signal.aborted) return false;
    try {
      await runStages(this.stages, { route: f.route, groupKey: f.groupKey, groupLabels: f.groupLabels, now: this.d.clock.now(), log: this.d.logger }, f.alerts);
      return true;
    } catch {
      return false;
    }
  }
}
