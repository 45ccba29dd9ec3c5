import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { parseAlertmanagerConfig } from '../../../src/alerts/notify/config.js';
import { createNotifier, type Notifier } from '../../../src/alerts/notify/index.js';
import type { Alert } from '../../../src/alerts/types.js';
import { silentLogger } from '../../../src/logger.js';

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-notify-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function notifier(yaml: string, dataDir: string, extra: { redisUrl?: string; redisKeyPrefix?: string; minRetryBudgetMs?: number } = {}): Promise<Notifier> {
  const n = await createNotifier({
    config: parseAlertmanagerConfig(yaml, 'test.yml'),
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

export function alert(labels: Record<string, string>, o: { annotations?: Record<string, string>; resolved?: boolean; startsAt?: number } = {}): Alert {
  const now = Date.now();
  return {
    labels: { ...labels },
    annotations: o.annotations ?? {},
    startsAt: new Date(o.startsAt ?? now),
    endsAt: new Date(o.resolved ? now - 1 : now + 60_000),
    generatorURL: 'http://vigil.example:9470/graph?g0.expr=up',
  };
}
