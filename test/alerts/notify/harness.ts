import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { parseAlertmanagerConfig, type AlertmanagerConfig } from '../../../src/alerts/notify/config.js';
import { createNotifier, ManualClock, type Clock, type Notifier } from '../../../src/alerts/notify/index.js';
import type { Alert } from '../../../src/alerts/types.js';
import { silentLogger } from '../../../src/logger.js';

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-notify-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function notifier(
  yaml: string,
  dataDir: string,
  extra: { redisUrl?: string; redisKeyPrefix?: string; minRetryBudgetMs?: number; clock?: Clock; dashboardUrl?: string; config?: AlertmanagerConfig } = {},
): Promise<Notifier> {
  const n = await createNotifier({
    config: extra.config ?? parseAlertmanagerConfig(yaml, 'test.yml'),
    dataDir,
    registry: new Registry(),
    logger: silentLogger(),
    externalUrl: 'http://vigil.example:9470',
    minRetryBudgetMs: 3_000,
    ...extra,
  });
  await n.start();
  return n;
}

export function alert(labels: Record<string, string>, o: { annotations?: Record<string, string>; resolved?: boolean; startsAt?: number; now?: number } = {}): Alert {
  const now = o.now ?? Date.now();
  return {
    labels: { ...labels },
    annotations: o.annotations ?? {},
    startsAt: new Date(o.startsAt ?? now),
    endsAt: new Date(o.resolved ? now - 1 : now + 60_000),
    generatorURL: 'http://vigil.example:9470/graph?g0.expr=up',
  };
}

/** Moves the clock and waits until every flush it started has finished (sends included). */
export async function step(clock: ManualClock, n: Notifier | Notifier[], ms: number): Promise<void> {
  await clock.advance(ms);
  for (const x of Array.isArray(n) ? n : [n]) await x.settled();
}

export { ManualClock };
