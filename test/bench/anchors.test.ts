/**
 * Every benchmark's anchor (the real tool it compares with) is checked before
 * a ratio or a goal verdict is printed: made unavailable, it reads
 * "not measured: <reason>", never a ratio and never "met".
 */
import { afterEach, describe, expect, it } from 'vitest';
import { goalVerdict, measured, notRun, prometheusAnchor, ratioCell } from '../../bench/anchor.js';
import { rsyslogAnchor } from '../../bench/logs.bench.js';
import { alertmanagerAnchor } from '../../bench/notify.bench.js';

const saved = { PATH: process.env.PATH, VIGIL_RSYSLOG_MODDIR: process.env.VIGIL_RSYSLOG_MODDIR };
afterEach(() => {
  process.env.PATH = saved.PATH;
  if (saved.VIGIL_RSYSLOG_MODDIR === undefined) delete process.env.VIGIL_RSYSLOG_MODDIR;
  else process.env.VIGIL_RSYSLOG_MODDIR = saved.VIGIL_RSYSLOG_MODDIR;
});

function reasonOf(a: object): string {
  expect(a).toHaveProperty('reason');
  return (a as { reason: string }).reason;
}

describe('benchmark anchors', () => {
  it('binaries missing from PATH: prometheus (promql, rules), alertmanager (notify), rsyslogd (logs)', () => {
    process.env.PATH = '/nonexistent';
    for (const [anchor, name] of [
      [prometheusAnchor(), 'prometheus'],
      [alertmanagerAnchor(), 'prometheus-alertmanager'],
      [rsyslogAnchor(), 'rsyslogd'],
    ] as const) {
      const reason = reasonOf(anchor);
      expect(reason).toContain(`${name} not installed`);
      expect(ratioCell(1000, notRun(reason))).toBe(`not measured: ${reason}`);
      expect(goalVerdict('x', 1000, notRun(reason), { atLeast: 1.3 })).toBe(`Goal: x -> not measured: ${reason}`);
    }
  });

  it("rsyslog without its Elasticsearch module is not an anchor", () => {
    process.env.VIGIL_RSYSLOG_MODDIR = '/nonexistent';
    const a = rsyslogAnchor();
    // With rsyslogd absent the binary is named first; with it present, the module.
    expect(reasonOf(a)).toMatch(/omelasticsearch module not found|rsyslogd not installed/);
  });

  it('an anchor that ran but produced nothing is not measured, and never "met"', () => {
    for (const v of [0, NaN, -1, Infinity]) {
      const a = measured(v, 'rsyslog');
      expect(a.ran).toBe(false);
      expect(ratioCell(50_000, a)).toMatch(/^not measured: rsyslog produced no result/);
      expect(goalVerdict('at least 1.3x', 50_000, a, { atLeast: 1.3 })).not.toMatch(/met \(/);
    }
    expect(measured(undefined, 'prometheus did not answer')).toEqual({ ran: false, reason: 'prometheus did not answer' });
  });

  it('a measured anchor gives the ratio and the verdict', () => {
    const a = measured(40_000, 'rsyslog');
    expect(ratioCell(52_000, a)).toBe('1.30x');
    expect(goalVerdict('at least 1.3x', 52_000, a, { atLeast: 1.3 })).toBe('Goal: at least 1.3x -> met (1.30x)');
    expect(goalVerdict('at least 1.3x', 48_000, a, { atLeast: 1.3 })).toBe('Goal: at least 1.3x -> not met (1.20x)');
    expect(goalVerdict('at most 1.5x', 3, measured(2, 'p'), { atMost: 1.5 })).toBe('Goal: at most 1.5x -> met (1.50x)');
    expect(ratioCell(0, a)).toBe('not measured: Vigil produced no result (0)');
  });
});
