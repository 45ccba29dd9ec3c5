/**
 * Browser telemetry through the Faro receiver: web vitals from the
 * vigil_faro_measurement histogram (timings in ms, CLS unitless), exceptions
 * from the ECS documents it ships to Elasticsearch.
 */
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { UID, type BuildContext } from './constants.js';
import { countOverTime, LOG_FIELDS, recentLogsPanel, volumePanel } from './es-panels.js';
import { labelVariable, stat, timeseries, toDashboard, vigilDashboard } from './panels.js';

const R = '[$__rate_interval]';
const p75 = (vital: string) =>
  `histogram_quantile(0.75, sum by (le) (rate(vigil_faro_measurement_bucket{app=~"$app",environment=~"$environment",name="${vital}"}${R})))`;
const EXCEPTIONS = `${LOG_FIELDS.dataset}:"faro.exception"`;

export function frontendDashboard(ctx: BuildContext): Dashboard {
  return vigilDashboard(ctx, UID.frontend, 'Frontend', 'Web vitals and exceptions reported by browsers through the Faro receiver.', ['frontend', 'faro'])
    .withVariable(labelVariable('app', 'App', 'label_values(vigil_faro_measurement_count, app)'))
    .withVariable(labelVariable('environment', 'Environment', 'label_values(vigil_faro_measurement_count{app=~"$app"}, environment)'))
    .withRow(new RowBuilder('Web vitals (p75)'))
    .withPanel(
      stat({
        title: 'LCP p75',
        description: 'Largest Contentful Paint; good is under 2.5s.',
        unit: 'ms',
        thresholds: [
          [2500, 'orange'],
          [4000, 'red'],
        ],
        queries: [{ expr: p75('lcp') }],
      }),
    )
    .withPanel(
      stat({
        title: 'INP p75',
        description: 'Interaction to Next Paint; good is under 200ms.',
        unit: 'ms',
        thresholds: [
          [200, 'orange'],
          [500, 'red'],
        ],
        queries: [{ expr: p75('inp') }],
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
        queries: [{ expr: p75('cls') }],
      }),
    )
    .withPanel(
      stat({
        title: 'Telemetry received',
        description: 'Faro items accepted per second.',
        unit: 'ops',
        queries: [{ expr: `sum(rate(vigil_logs_received_events_total{source="faro"}${R})) or vector(0)` }],
        links: [toDashboard(UID.self, 'Vigil log shipping')],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Web vitals p75 over time',
        description: 'Loading (LCP, FCP, TTFB) and responsiveness (INP), in milliseconds.',
        unit: 'ms',
        w: 24,
        queries: [
          { expr: p75('lcp'), legend: 'LCP' },
          { expr: p75('fcp'), legend: 'FCP' },
          { expr: p75('ttfb'), legend: 'TTFB' },
          { expr: p75('inp'), legend: 'INP' },
        ],
        links: [toDashboard(UID.planningApi, 'Planning API latency')],
      }),
    )
    .withRow(new RowBuilder('Exceptions'))
    .withPanel(volumePanel('Exceptions by type', 'Browser exceptions per interval, split by error.type.', countOverTime(EXCEPTIONS, LOG_FIELDS.errorType), 24))
    .withPanel(recentLogsPanel('Recent exceptions', 'The latest browser exceptions with their stack traces.', EXCEPTIONS))
    .build();
}
