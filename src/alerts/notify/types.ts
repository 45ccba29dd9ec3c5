import type { LabelSet } from './matchers.js';

/** An alert as the notifier holds it: the posted alert plus identity and bookkeeping. */
export interface StoredAlert {
  readonly fingerprint: string;
  readonly labels: LabelSet;
  readonly annotations: LabelSet;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly generatorURL: string;
  /** When this version was received; groups drop a resolved alert only if it did not change since the flush. */
  readonly updatedAt: number;
  /** True when the sender gave no endsAt and resolve_timeout was applied. */
  readonly timeout: boolean;
}

export function isResolved(a: StoredAlert, now: number): boolean {
  return a.endsAt <= now;
}

/** What a receiver integration gets for one group flush. */
export interface Notification {
  receiver: string;
  groupKey: string;
  groupLabels: LabelSet;
  /** Alerts to send (already filtered by send_resolved), sorted by labels. */
  alerts: StoredAlert[];
  /** How many alerts the group had before send_resolved filtering. */
  now: number;
  externalUrl: string;
  /** Grafana base URL: dashboard annotations that are paths (`/d/uid`) link under it. */
  dashboardUrl?: string;
}

/**
 * A send failure; `retry: false` stops retrying (e.g. 4xx other than 429).
 * It carries no stack trace: only its message is ever logged, and a storm of
 * failing groups creates tens of thousands of them, where capturing each
 * stack was the largest single cost of failing and of shutting down.
 */
export class NotifyError extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
    readonly retryAfterMs?: number,
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    // Error(message) with a string does not throw, so the limit is always restored.
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'NotifyError';
  }
}

/** A message that is not an alert (the daily digest, future notices), sent through a receiver's integrations. */
export interface Notice {
  title: string;
  /** Plain text; receivers that format (Slack, HTML mail) show it preformatted. */
  text: string;
}

export interface Integration {
  /** `slack`, `email`, `webhook`, `alertmanager`. */
  readonly kind: string;
  readonly index: number;
  readonly sendResolved: boolean;
  notify(n: Notification): Promise<void>;
  /** Sends a notice; integrations without it skip notices. */
  sendNotice?(n: Notice, receiver: string): Promise<void>;
  close?(): Promise<void>;
}

/** Parses a Retry-After header (seconds or HTTP date) into ms. */
export function parseRetryAfter(v: string | string[] | undefined, now = Date.now()): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  if (/^\d+(\.\d+)?$/.test(s.trim())) return Math.round(Number(s) * 1000);
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
