/**
 * Halting the notifier under a storm: sends waiting for a slot give up without
 * a request (and are not counted as failed attempts), sends in flight end with
 * their request, and the shutdown reports the abandoned sends in one line
 * instead of one error line per group.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAlertmanagerConfig } from '../../../src/alerts/notify/config.js';
import { createNotifier, ManualClock } from '../../../src/alerts/notify/index.js';
import { createLogger } from '../../../src/logger.js';
import { waitFor } from '../../helpers/net.js';
import { alert, tempDir } from './harness.js';

const GROUPS = 200;
/** The notifier's bound on sends in flight (MAX_SENDS_IN_FLIGHT in stages.ts). */
const IN_FLIGHT = 64;

describe('notifier halt under a storm', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('gives up queued sends without a request and reports them in one line', { timeout: 60_000 }, async () => {
    // A receiver that takes every request and never answers.
    const sockets = new Set<Socket>();
    const server: Server = createServer(() => undefined);
    server.on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;

    const lines: Array<{ level: string; msg: string; sends?: number }> = [];
    const out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as (typeof lines)[number]);
        cb();
      },
    });
    const registry = new Registry();
    const clock = new ManualClock(Date.now());
    const n = createNotifier({
      config: parseAlertmanagerConfig(`route: {receiver: hook, group_by: [alertname], group_wait: 0s}\nreceivers: [{name: hook, webhook_configs: [{url: '${url}'}]}]\n`, 'am.yml'),
      dataDir: tmp.dir,
      registry,
      logger: createLogger({ destination: out, limit: false }),
      externalUrl: 'http://vigil.example:9470',
      clock,
    });
    await n.start();
    await n.send(Array.from({ length: GROUPS }, (_, k) => alert({ alertname: `Storm${k}` }, { now: clock.now() })));
    await clock.advance(0);
    await waitFor(() => sockets.size >= IN_FLIGHT || undefined, 20_000, 20);

    n.halt!();
    // The receiver goes away: the requests in flight fail; being halted, none is retried.
    for (const s of sockets) s.destroy();
    await n.settled();
    await n.stop();
    await new Promise<void>((r) => server.close(() => r()));

    const failed = (await registry.getSingleMetric('vigil_notifications_failed_total')!.get()).values.reduce((a, v) => a + v.value, 0);
    expect(failed).toBe(IN_FLIGHT);
    expect(sockets.size).toBe(IN_FLIGHT);
    expect(lines.filter((l) => l.msg.startsWith('notification failed'))).toEqual([]);
    expect(lines.filter((l) => l.msg.includes('given up by the shutdown')).map((l) => [l.level, l.sends])).toEqual([['warn', GROUPS]]);
  });
});
