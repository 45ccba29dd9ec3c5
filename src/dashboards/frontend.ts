/** Browser telemetry from the Faro receiver: web vitals and exceptions per app. */
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { UID, type BuildContext } from './constants.js';
import { labelVariable, runbook, stat, timeseries, toDashboard, vigilDashboard } from './panels.js';

const A = '{app=~"$app"}';
const R = '[$__rate_interval]';
const p75 = (metric: string) => `histogram_quantile(0.75, sum by (le) (rate(${metric}_bucket${A}${R})))`;

export function frontendDashboard(ctx: BuildContext): Dashboard {
  return vigilDashboard(ctx, UID.frontend, 'Frontend', 'Web vitals and exceptions reported by browsers through the Faro receiver.', ['frontend', 'faro'])
    .withVariable(labelVariable('app', 'App', 'label_values(faro_events_total, app)'))
    .withRow(new RowBuilder('Web vitals (p75)'))
    .withPanel(
      stat({
        title: 'LCP p75',
        description: 'Largest Contentful Paint; good is under 2.5s.',
        unit: 's',
        thresholds: [
          [2.5, 'orange'],
          [4, 'red'],
        ],
        queries: [{ expr: p75('faro_web_vitals_lcp_seconds') }],
      }),
    )
    .withPanel(
      stat({
        title: 'INP p75',
        description: 'Interaction to Next Paint; good is under 200ms.',
        unit: 's',
        thresholds: [
          [0.2, 'orange'],
          [0.5, 'red'],
        ],
        queries: [{ expr: p75('faro_web_vitals_inp_seconds') }],
      }),
    )
    .withPanel(
      stat({
        title: 'CLS p75',
        description: 'Cumulative Layout Shift; good is under 0.1.',
        thresholds: [
          [0.1, 'orange'],
          [0.25, 'red'],
        ],
        queries: [{ expr: p75('faro_web_vitals_cls') }],
      }),
    )
    .withPanel(
      stat({
        title: 'Exceptions (range)',
        description: 'Browser exceptions over the time range.',
        thresholds: [[1, 'orange']],
        queries: [{ expr: `sum(increase(faro_exceptions_total${A}[$__range])) or vector(0)` }],
        links: [toDashboard(UID.logs, 'Exceptions in the logs')],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Web vitals p75 over time',
        description: 'Loading (LCP, FCP, TTFB) and responsiveness (INP).',
        unit: 's',
        w: 24,
        queries: [
          { expr: p75('faro_web_vitals_lcp_seconds'), legend: 'LCP' },
          { expr: p75('faro_web_vitals_fcp_seconds'), legend: 'FCP' },
          { expr: p75('faro_web_vitals_ttfb_seconds'), legend: 'TTFB' },
          { expr: p75('faro_web_vitals_inp_seconds'), legend: 'INP' },
        ],
        links: [toDashboard(UID.planningApi, 'Planning API latency')],
      }),
    )
    .withRow(new RowBuilder('Errors and intake'))
    .withPanel(
      timeseries({
        title: 'Exceptions by type',
        description: 'Browser exceptions per second by app and type.',
        unit: 'ops',
        queries: [{ expr: `sum by (app, type) (rate(faro_exceptions_total${A}${R}))`, legend: '{{app}} {{type}}' }],
        links: [runbook(ctx, 'frontend-exceptions'), toDashboard(UID.logs, 'Exceptions in the logs')],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Telemetry received',
        description: 'Accepted Faro items per second by kind, and rejected payloads by reason.',
        unit: 'ops',
        queries: [
          { expr: `sum by (kind) (rate(faro_events_total${A}${R}))`, legend: '{{kind}}' },
          { expr: `sum by (reason) (rate(faro_rejected_total${R}))`, legend: 'rejected {{reason}}' },
        ],
      }),
    )
    .build();
}
