import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertmanagerSink } from '../../../src/alerts/notify/index.js';
import { fingerprint } from '../../../src/alerts/notify/matchers.js';
import { silentLogger } from '../../../src/logger.js';
import { startAlertmanager, type RunningAlertmanager } from '../../helpers/alertmanager.js';
import { waitFor } from '../../helpers/net.js';
import { requireBinary } from '../../helpers/services.js';
import { alert } from './harness.js';

const bin = requireBinary('prometheus-alertmanager', 'prometheus-alertmanager');
let am: RunningAlertmanager | undefined;
let url = '';

beforeAll(async () => {
  if (!bin) return;
  am = await startAlertmanager(bin, 'route: { receiver: x }\nreceivers: [{ name: x }]\n');
  url = am.url;
});
afterAll(async () => {
  await am?.stop();
});

describe.skipIf(!bin)('forwarding to a real Alertmanager', () => {
  it('POSTs alerts to /api/v2/alerts and Alertmanager holds them', async () => {
    const sink = createAlertmanagerSink({ url, logger: silentLogger() });
    await sink.send([alert({ alertname: 'HighErrorRate', severity: 'critical', service: 'api' }, { annotations: { summary: 'High error rate detected' } })]);
    const got = await waitFor(async () => {
      const list = (await (await fetch(`${url}/api/v2/alerts`)).json()) as Array<{ labels: Record<string, string>; annotations: Record<string, string>; fingerprint: string }>;
      return list.length ? list : undefined;
    });
    expect(got[0].labels).toEqual({ alertname: 'HighErrorRate', severity: 'critical', service: 'api' });
    expect(got[0].annotations.summary).toBe('High error rate detected');
    // Vigil's fingerprints are Alertmanager's, so API clients see the same ids.
    expect(fingerprint(got[0].labels)).toBe(got[0].fingerprint);
  });

  it('a rejected batch fails clearly without retrying forever', async () => {
    const sink = createAlertmanagerSink({ url, logger: silentLogger(), maxRetryMs: 1000 });
    await expect(sink.send([{ labels: {}, annotations: {}, startsAt: new Date(), endsAt: new Date(Date.now() + 1000) }])).rejects.toThrow(/400/);
  });
});
