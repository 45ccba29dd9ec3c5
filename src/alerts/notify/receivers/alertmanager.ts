/**
 * Forwarding to a real Alertmanager: POST /api/v2/alerts with postable alerts.
 * An AlertSink, so the rule evaluator can send to it instead of (or beside)
 * the embedded notifier.
 */
import type { Alert, AlertSink } from '../../types.js';
import type { Logger } from '../../../logger.js';
import { NotifyError } from '../types.js';
import { httpError, redactUrl } from './common.js';
import { withRetry } from '../retry.js';

export interface AlertmanagerSinkOptions {
  /** Base URL, e.g. http://alertmanager:9093 (path prefix allowed). */
  url: string;
  logger: Logger;
  /** Bearer token or basic auth header value, from the environment. */
  authorization?: string;
  timeoutMs?: number;
  /** Give up after this long (the evaluator resends anyway). */
  maxRetryMs?: number;
}

export function postableAlerts(alerts: readonly Alert[]) {
  return alerts.map((a) => ({
    labels: { ...a.labels },
    annotations: { ...a.annotations },
    startsAt: a.startsAt.toISOString(),
    endsAt: a.endsAt.toISOString(),
    generatorURL: a.generatorURL ?? '',
  }));
}

export function createAlertmanagerSink(o: AlertmanagerSinkOptions): AlertSink {
  const endpoint = `${o.url.replace(/\/$/, '')}/api/v2/alerts`;
  return {
    async send(alerts) {
      if (alerts.length === 0) return;
      const body = JSON.stringify(postableAlerts(alerts));
      await withRetry(
        async () => {
          let res: Response;
          try {
            res = await fetch(endpoint, {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...(o.authorization ? { authorization: o.authorization } : {}) },
              body,
              signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
            });
          } catch (err) {
            throw new NotifyError(`alertmanager ${redactUrl(endpoint)}: ${(err as Error).message}`, true);
          }
          await res.arrayBuffer().catch(() => undefined);
          if (!res.ok) throw httpError(`alertmanager ${redactUrl(endpoint)}`, res.status, res.headers.get('retry-after'));
        },
        { maxElapsedMs: o.maxRetryMs ?? 60_000, logger: o.logger, what: 'forward to alertmanager' },
      );
    },
  };
}
