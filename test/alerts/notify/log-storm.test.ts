/**
 * Notification groups failing against a dead Slack for two simulated minutes:
 * Vigil's own error log stays a handful of lines, each kind of failure once
 * plus one count line per interval. The bound does not depend on the number
 * of groups, so developers run 2k groups (6k failed sends, far past the bound);
 * VIGIL_TEST_LARGE=1 (CI) runs the README's 20k, whose 60k real connections
 * to the dead port cost about half a minute. STORM_GROUPS sets any other count.
 */
import { Writable } from 'node:stream';
import { Counter, Histogram, Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { toStored } from '../../../src/alerts/notify/alert-store.js';
import { parseAlertmanagerConfig } from '../../../src/alerts/notify/config.js';
import { Inhibitor } from '../../../src/alerts/notify/inhibit.js';
import { ManualClock } from '../../../src/alerts/notify/clock.js';
import { Pipeline } from '../../../src/alerts/notify/pipeline.js';
import { SilenceService } from '../../../src/alerts/notify/silence-service.js';
import { slackIntegration } from '../../../src/alerts/notify/receivers/slack.js';
import { routeTree } from '../../../src/alerts/notify/route.js';
import { FileState } from '../../../src/alerts/notify/state.js';
import { makeRenderer } from '../../../src/alerts/notify/templates.js';
import { TimeIntervals } from '../../../src/alerts/notify/time-intervals.js';
import { createLogger, flushLogLimits } from '../../../src/logger.js';
import { startDeadSlack } from '../../helpers/slack.js';
import { alert, tempDir } from './harness.js';

const GROUPS = Number(process.env.STORM_GROUPS ?? (process.env.VIGIL_TEST_LARGE === '1' ? 20_000 : 2_000));
const MINUTE = 60_000;

describe('error logging under a notification storm', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it(`${GROUPS} failing groups for 2 simulated minutes write a bounded number of lines`, { timeout: 600_000 }, async () => {
    const slack = await startDeadSlack();
    let clock = 0;
    const lines: Array<Record<string, unknown>> = [];
    const out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const logger = createLogger({ destination: out, limit: { intervalMs: MINUTE, now: () => clock } });
    const cfg = parseAlertmanagerConfig(
      `route: {receiver: slack, group_by: [alertname], group_interval: 1ms}\nreceivers: [{name: slack, slack_configs: [{api_url: '${slack.url}', channel: '#x'}]}]\n`,
      'am.yml',
    );
    const route = routeTree(cfg);
    const registry = new Registry();
    const metrics = {
      sent: new Counter({ name: 'sent', help: 'h', labelNames: ['integration'], registers: [registry] }),
      failed: new Counter({ name: 'failed', help: 'h', labelNames: ['integration'], registers: [registry] }),
      latency: new Histogram({ name: 'latency', help: 'h', labelNames: ['integration'], registers: [registry] }),
    };
    const state = new FileState(tmp.dir);
    const notifyClock = new ManualClock(Date.now());
    const pipeline = new Pipeline({
      state,
      inhibitor: new Inhibitor([]),
      intervals: new TimeIntervals([]),
      integrations: new Map([['slack', [slackIntegration({ url: slack.url, config: cfg.receivers[0].slack_configs[0], render: makeRenderer(''), index: 0 })]]]),
      firing: () => [],
      logger: logger.child({ component: 'notify' }),
      externalUrl: 'http://vigil.test',
      nflogRetentionMs: 5 * 24 * 3600_000,
      // The simulated clock drives the rounds below; a 1ms retry budget makes each flush one attempt.
      minRetryBudgetMs: 0,
      signal: new AbortController().signal,
      metrics,
      silences: new SilenceService(state, notifyClock, 0),
      // Pinned: however long the rounds take on a loaded machine, the alerts stay firing.
      clock: notifyClock,
    });
    const groups = Array.from({ length: GROUPS }, (_, i) => {
      const a = toStored(alert({ alertname: `Alert${i}`, severity: 'critical' }, { now: notifyClock.now() }), notifyClock.now(), 5 * MINUTE);
      return { route, groupKey: `{}:{alertname="Alert${i}"}`, groupLabels: { alertname: `Alert${i}` }, alerts: [a] };
    });

    let failures = 0;
    // A flush at 0, 1m and 2m: the first try and two group intervals.
    for (const at of [0, MINUTE, 2 * MINUTE]) {
      clock = at;
      for (let i = 0; i < groups.length; i += 500) {
        const results = await Promise.all(groups.slice(i, i + 500).map((g) => pipeline.flush(g)));
        failures += results.filter((ok) => !ok).length;
      }
    }
    clock = 2 * MINUTE + 30_000;
    flushLogLimits(logger);
    await slack.close();
    await state.close();

    if (process.env.STORM_DEBUG) console.log(lines.map((l) => `${l.level} ${l.msg} ${l.err} ${l.repeated ?? ""}`).join("\n"));
    expect(failures).toBe(3 * GROUPS);
    const errors = lines.filter((l) => l.level === 'error');
    // Per interval and kind of failure (the dead port gives "socket hang up" or
    // ECONNRESET): the first in full, then one line counting the rest. The bound
    // does not grow with the number of groups.
    const kinds = new Set(errors.map((l) => l.err)).size;
    expect(kinds).toBeLessThanOrEqual(3);
    expect(errors.length).toBeLessThanOrEqual(3 * 2 * kinds);
    expect(lines.length).toBeLessThanOrEqual(20);
    const counted = errors.reduce((n, l) => n + (typeof l.repeated === 'number' ? l.repeated : 1), 0);
    expect(counted).toBe(3 * GROUPS);
    expect(errors[0].msg).toBe('notification failed; will retry at the next group interval');
    expect(errors[0].groupKey).toBeDefined();
    expect(errors.some((l) => String(l.msg).includes('more like it in 60s)'))).toBe(true);
  });
});
