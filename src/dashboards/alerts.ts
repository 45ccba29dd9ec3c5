/**
 * What the rule engine and the notification pipeline are doing: active alerts
 * from ALERTS, notification outcomes, and rule evaluation health.
 */
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { UID, type BuildContext } from './constants.js';
import { stat, table, timeseries, toDashboard, vigilDashboard } from './panels.js';

const R = '[$__rate_interval]';

export function alertsDashboard(ctx: BuildContext): Dashboard {
  return vigilDashboard(ctx, UID.alerts, 'Alerts', 'Firing and pending alerts, notifications and rule evaluation.', ['alerts'])
    .withRow(new RowBuilder('Active alerts'))
    .withPanel(
      stat({
        title: 'Firing',
        description: 'Alerts firing now.',
        thresholds: [[1, 'red']],
        queries: [{ expr: 'count(ALERTS{alertstate="firing"}) or vector(0)' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Pending',
        description: 'Alerts whose condition holds but whose for: duration has not passed.',
        thresholds: [[1, 'orange']],
        queries: [{ expr: 'count(ALERTS{alertstate="pending"}) or vector(0)' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Critical firing',
        description: 'Firing alerts with severity=critical.',
        thresholds: [[1, 'red']],
        queries: [{ expr: 'count(ALERTS{alertstate="firing",severity="critical"}) or vector(0)' }],
      }),
    )
    .withPanel(
      stat({
        title: 'Notifications failed (range)',
        description: 'Failed notification attempts over the time range.',
        thresholds: [[1, 'red']],
        queries: [{ expr: 'sum(increase(vigil_notifications_failed_total[$__range])) or vector(0)' }],
        links: [toDashboard(UID.self, 'Vigil')],
      }),
    )
    .withPanel(
      table({
        title: 'Active alerts',
        description: 'Every pending and firing alert with its labels.',
        queries: [{ expr: 'ALERTS' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Alerts by state and severity',
        description: 'Active alerts over time.',
        w: 24,
        stack: true,
        queries: [{ expr: 'count by (alertstate, severity) (ALERTS)', legend: '{{alertstate}} {{severity}}' }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Alerts held by the notifier',
        description: 'Alerts in the notification pipeline by state (active, suppressed).',
        w: 24,
        queries: [{ expr: 'sum by (state) (vigil_alerts)', legend: '{{state}}' }],
      }),
    )
    .withRow(new RowBuilder('Notifications'))
    .withPanel(
      timeseries({
        title: 'Notifications by integration',
        description: 'Notification attempts and failures per second by integration (slack, email, webhook).',
        unit: 'ops',
        w: 12,
        queries: [
          { expr: `sum by (integration) (rate(vigil_notifications_total${R}))`, legend: 'sent {{integration}}' },
          { expr: `sum by (integration) (rate(vigil_notifications_failed_total${R}))`, legend: 'failed {{integration}}' },
        ],
        links: [toDashboard(UID.self, 'Vigil')],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Notification latency p95',
        description: 'Time to deliver one notification, by integration.',
        unit: 's',
        w: 12,
        queries: [
          {
            expr: `histogram_quantile(0.95, sum by (le, integration) (rate(vigil_notification_latency_seconds_bucket${R})))`,
            legend: '{{integration}}',
          },
        ],
      }),
    )
    .withRow(new RowBuilder('Rule evaluation'))
    .withPanel(
      timeseries({
        title: 'Rule group evaluation duration',
        description: 'Duration of the last evaluation of each rule group against its interval.',
        unit: 's',
        w: 8,
        queries: [
          { expr: 'prometheus_rule_group_last_duration_seconds', legend: '{{rule_group}}' },
          { expr: 'prometheus_rule_group_interval_seconds', legend: 'interval {{rule_group}}' },
        ],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Rule evaluation failures',
        description: 'Failed rule evaluations per second by group: a rule that fails to evaluate never fires.',
        unit: 'ops',
        w: 8,
        thresholds: [[0.0001, 'red']],
        queries: [{ expr: `sum by (rule_group) (rate(prometheus_rule_evaluation_failures_total${R}))`, legend: '{{rule_group}}' }],
        links: [toDashboard(UID.self, 'Vigil')],
      }),
    )
    .withPanel(
      timeseries({
        title: 'Missed evaluations',
        description: 'Rule group iterations skipped because an evaluation took longer than its interval.',
        w: 8,
        queries: [{ expr: `sum by (rule_group) (increase(prometheus_rule_group_iterations_missed_total${R}))`, legend: '{{rule_group}}' }],
      }),
    )
    .build();
}
