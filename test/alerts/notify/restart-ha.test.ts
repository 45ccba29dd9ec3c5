import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Notifier } from '../../../src/alerts/notify/index.js';
import type { Alert } from '../../../src/alerts/types.js';
import { hasRedis, REDIS_URL } from '../../helpers/services.js';
import { waitFor } from '../../helpers/net.js';
import { startSlackStandIn } from '../../helpers/slack.js';
import { parseAlertmanagerConfig } from '../../../src/alerts/notify/config.js';
import { alert, ManualClock, notifier, step, tempDir } from './harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});


function config(slackUrl: string, groupWait = '800ms') {
  return `
global: { slack_api_url: '${slackUrl}' }
route:
  receiver: slack
  group_by: [alertname]
  group_wait: ${groupWait}
  group_interval: 300ms
  repeat_interval: 1h
receivers:
  - name: slack
    slack_configs: [{ channel: '#alerts', send_resolved: true }]
`;
}

function perGroup(received: Array<Record<string, any>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of received) {
    const h = r.attachments[0].blocks[0].text.text as string;
    out[h] = (out[h] ?? 0) + 1;
  }
  return out;
}

describe('restart', () => {
  it('restart in the middle of a group wait: sent once, nothing lost; again after sending: no duplicate', async () => {
    const slack = await startSlackStandIn();
    const t = tempDir();
    cleanups.push(() => slack.close(), t.cleanup);
    const clock = new ManualClock();
    let n: Notifier = await notifier(config(slack.url, '1500ms'), t.dir, { clock });
    await n.send([alert({ alertname: 'A', severity: 'critical' }, { now: clock.now() })]);
    await step(clock, n, 300);
    await n.stop();
    expect(slack.received).toHaveLength(0);
    n = await notifier(config(slack.url, '1500ms'), t.dir, { clock });
    await step(clock, n, 1500);
    expect(slack.received).toHaveLength(1);
    await n.stop();
    // Restart after the send, with the evaluator re-sending the same alert: nothing new.
    n = await notifier(config(slack.url, '1500ms'), t.dir, { clock });
    cleanups.push(() => n.stop());
    await n.send([alert({ alertname: 'A', severity: 'critical' }, { now: clock.now() })]);
    for (let i = 0; i < 8; i++) await step(clock, n, 300);
    expect(slack.received).toHaveLength(1);
    // Resolution after the restart is still delivered once.
    await n.send([alert({ alertname: 'A', severity: 'critical' }, { resolved: true, now: clock.now() })]);
    for (let i = 0; i < 4; i++) await step(clock, n, 300);
    expect(slack.received).toHaveLength(2);
  });

  it('group timers resume after a restart: group_wait and group_interval run on from where they were', async () => {
    const slack = await startSlackStandIn();
    const t = tempDir();
    cleanups.push(() => slack.close(), t.cleanup);
    const clock = new ManualClock();
    const cfg = `
global: { slack_api_url: '${slack.url}' }
route: { receiver: slack, group_by: [job], group_wait: 30s, group_interval: 5m, repeat_interval: 4h }
receivers: [{ name: slack, slack_configs: [{ channel: '#alerts' }] }]
`;
    const t0 = clock.now();
    let n: Notifier = await notifier(cfg, t.dir, { clock });
    await n.send([alert({ alertname: 'A', job: 'api' }, { now: t0 })]);
    await step(clock, n, 10_000);
    await n.stop();
    // Restarted 10 s into the 30 s group wait: the first page goes out at 30 s, not 40 s.
    n = await notifier(cfg, t.dir, { clock });
    await step(clock, n, 19_000);
    expect(slack.received).toHaveLength(0);
    await step(clock, n, 1_000);
    expect(slack.received).toHaveLength(1);
    await step(clock, n, 60_000);
    await n.stop();
    const saved = JSON.parse(readFileSync(join(t.dir, 'notify', 'groups.json'), 'utf8')) as Record<string, { lastFlushAt: number; nextFlushAt: number }>;
    expect(Object.values(saved)).toEqual([{ createdAt: t0, lastFlushAt: t0 + 30_000, nextFlushAt: t0 + 30_000 + 300_000 }]);

    // A new alert in the same group after the restart waits for the group interval
    // that started before it (at 5m30s), instead of flushing at once.
    n = await notifier(cfg, t.dir, { clock });
    cleanups.push(() => n.stop());
    // The rule evaluator re-sends A (still firing) with B.
    const firingHour = (a: Alert) => ({ ...a, endsAt: new Date(t0 + 3600_000) });
    await n.send([firingHour(alert({ alertname: 'A', job: 'api' }, { now: clock.now(), startsAt: t0 })), firingHour(alert({ alertname: 'B', job: 'api' }, { now: clock.now() }))]);
    await step(clock, n, 60_000);
    expect(slack.received).toHaveLength(1);
    await step(clock, n, 330_000 - 150_000 - 1);
    expect(slack.received).toHaveLength(1);
    await step(clock, n, 1);
    expect(slack.received).toHaveLength(2);
    expect(slack.received[1].attachments[0].blocks[0].text.text).toContain('[FIRING:2]');
  });

  it('a reload keeps the group timers: a new alert waits for the running group_interval', async () => {
    const slack = await startSlackStandIn();
    const t = tempDir();
    cleanups.push(() => slack.close(), t.cleanup);
    const clock = new ManualClock();
    const cfg = (channel: string) => `
global: { slack_api_url: '${slack.url}' }
route: { receiver: slack, group_by: [job], group_wait: 30s, group_interval: 5m, repeat_interval: 4h }
receivers: [{ name: slack, slack_configs: [{ channel: '${channel}' }] }]
`;
    const t0 = clock.now();
    const n = await notifier(cfg('#a'), t.dir, { clock });
    cleanups.push(() => n.stop());
    const hour = (a: Alert) => ({ ...a, endsAt: new Date(t0 + 3600_000) });
    await n.send([hour(alert({ alertname: 'A', job: 'api' }, { now: t0 }))]);
    await step(clock, n, 30_000);
    expect(slack.received).toHaveLength(1);
    await step(clock, n, 60_000);
    await n.reload(parseAlertmanagerConfig(cfg('#b'), 'test.yml'));
    await n.send([hour(alert({ alertname: 'A', job: 'api' }, { now: clock.now(), startsAt: t0 })), hour(alert({ alertname: 'B', job: 'api' }, { now: clock.now() }))]);
    await step(clock, n, 330_000 - 90_000 - 1);
    expect(slack.received).toHaveLength(1);
    await step(clock, n, 1);
    expect(slack.received.map((m) => m.channel)).toEqual(['#a', '#b']);
  });

  it('silences survive a restart', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const slack = await startSlackStandIn();
    cleanups.push(() => slack.close());
    const clock = new ManualClock();
    let n = await notifier(config(slack.url), t.dir, { clock });
    const id = await n.putSilence({
      matchers: [{ name: 'alertname', value: 'A', isRegex: false, isEqual: true }],
      startsAt: clock.now(),
      endsAt: clock.now() + 3600_000,
      createdBy: 'me',
      comment: 'c',
    });
    await n.stop();
    n = await notifier(config(slack.url), t.dir, { clock });
    cleanups.push(() => n.stop());
    expect((await n.getSilence(id))?.createdBy).toBe('me');
    await n.send([alert({ alertname: 'A' }, { now: clock.now() })]);
    for (let i = 0; i < 4; i++) await step(clock, n, 500);
    expect(slack.received).toHaveLength(0);
  });
});

describe.skipIf(!(await hasRedis()))('two replicas on one Redis', () => {
  async function replicas(slackUrl: string, clock: ManualClock, count = 2) {
    const prefix = `vigil-test:${randomUUID()}:`;
    cleanups.push(async () => {
      const r = new Redis(REDIS_URL);
      const keys = await r.keys(`${prefix}*`);
      if (keys.length) await r.del(...keys);
      r.disconnect();
    });
    const out: Notifier[] = [];
    for (let i = 0; i < count; i++) {
      const t = tempDir();
      cleanups.push(t.cleanup);
      const n = await notifier(config(slackUrl), t.dir, { redisUrl: REDIS_URL, redisKeyPrefix: prefix, clock });
      cleanups.push(() => n.stop());
      out.push(n);
    }
    return out;
  }

  it('exactly one notification per group per interval', async () => {
    const slack = await startSlackStandIn();
    cleanups.push(() => slack.close());
    const clock = new ManualClock();
    const reps = await replicas(slack.url, clock, 3);
    const batch = ['A', 'B', 'C'].map((name) => alert({ alertname: name, severity: 'critical' }, { now: clock.now() }));
    await Promise.all(reps.map((r) => r.send(batch)));
    for (let i = 0; i < 4; i++) await step(clock, reps, 500);
    expect(perGroup(slack.received)).toEqual({
      '[FIRING:1] A (critical)': 1,
      '[FIRING:1] B (critical)': 1,
      '[FIRING:1] C (critical)': 1,
    });
    // A second alert joins group A on every replica: one more message for A only.
    await Promise.all(reps.map((r) => r.send([alert({ alertname: 'A', severity: 'critical', instance: 'x' }, { now: clock.now() })])));
    for (let i = 0; i < 4; i++) await step(clock, reps, 300);
    expect(slack.received).toHaveLength(4);
    expect(slack.received[3].attachments[0].blocks[0].text.text).toBe('[FIRING:2] A (critical)');
  });

  it('one replica stopped mid-wait: the other sends, once', async () => {
    const slack = await startSlackStandIn();
    cleanups.push(() => slack.close());
    const clock = new ManualClock();
    const [a, b] = await replicas(slack.url, clock);
    const batch = [alert({ alertname: 'DatabaseConnectionFailure', severity: 'critical' }, { now: clock.now() })];
    await Promise.all([a.send(batch), b.send(batch)]);
    await step(clock, [a, b], 200);
    await a.stop();
    for (let i = 0; i < 4; i++) await step(clock, b, 500);
    expect(slack.received).toHaveLength(1);
  });

  it('silences are shared', async () => {
    const slack = await startSlackStandIn();
    cleanups.push(() => slack.close());
    const clock = new ManualClock();
    const [a, b] = await replicas(slack.url, clock);
    const id = await a.putSilence({
      matchers: [{ name: 'alertname', value: 'Quiet', isRegex: false, isEqual: true }],
      startsAt: clock.now(),
      endsAt: clock.now() + 60_000,
      createdBy: 'x',
      comment: 'y',
    });
    await waitFor(async () => (await b.getSilence(id)) !== undefined, 5_000);
    await b.send([alert({ alertname: 'Quiet' }, { now: clock.now() })]);
    for (let i = 0; i < 4; i++) await step(clock, b, 500);
    expect(slack.received).toHaveLength(0);
  });
});
