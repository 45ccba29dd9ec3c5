/**
 * Service level objectives from slos/*.yml: per SLO its objective, the SLI now,
 * the error budget left over the 30-day period, the burn rate per window
 * against the alert thresholds, and the burn alerts' state. Series are the
 * ones src/alerts/slo generates (Sloth's names).
 */
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { UID, type BuildContext } from './constants.js';
import { labelVariable, runbook, stat, table, timeseries, vigilDashboard } from './panels.js';

const S = '{sloth_service=~"$service",sloth_slo=~"$slo"}';
const ON = 'on (sloth_id, sloth_slo, sloth_service) group_left';
const LEGEND = '{{sloth_service}} {{sloth_slo}}';
const WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'];

const burn = (w: string) => `slo:sli_error:ratio_rate${w}${S} / ${ON} slo:error_budget:ratio${S}`;

export function sloDashboard(ctx: BuildContext): Dashboard {
  return vigilDashboard(ctx, UID.slo, 'SLOs', 'Service level objectives: budget left, burn rate per window and burn alerts.', ['slo'])
    .withVariable(labelVariable('service', 'Service', 'label_values(sloth_slo_info, sloth_service)'))
    .withVariable(labelVariable('slo', 'SLO', 'label_values(sloth_slo_info{sloth_service=~"$service"}, sloth_slo)'))
    .withRow(new RowBuilder('Objectives'))
    .withPanel(
      stat({
        title: 'Objective',
        description: 'The share of good events each SLO promises over its 30-day period.',
        unit: 'percentunit',
        queries: [{ expr: `slo:objective:ratio${S}`, legend: LEGEND }],
        baseColor: 'blue',
      }),
    )
    .withPanel(
      stat({
        title: 'SLI now (5m)',
        description: 'Share of good events over the last 5 minutes.',
        unit: 'percentunit',
        queries: [{ expr: `1 - slo:sli_error:ratio_rate5m${S}`, legend: LEGEND }],
        baseColor: 'blue',
      }),
    )
    .withPanel(
      stat({
        title: 'SLI over the period (30d)',
        description: 'Share of good events over the SLO period, compared with the objective.',
        unit: 'percentunit',
        queries: [{ expr: `1 - slo:sli_error:ratio_rate30d${S}`, legend: LEGEND }],
        baseColor: 'blue',
      }),
    )
    .withPanel(
      stat({
        title: 'Error budget remaining (30d)',
        description: 'Share of the period\'s error budget not yet spent. Below 0 the SLO is missed for the period.',
        unit: 'percentunit',
        baseColor: 'red',
        thresholds: [
          [0, 'orange'],
          [0.25, 'green'],
        ],
        queries: [{ expr: `slo:period_error_budget_remaining:ratio${S}`, legend: LEGEND }],
        links: [runbook(ctx, 'SLOErrorBudgetBurn')],
      }),
    )
    .withRow(new RowBuilder('Burn rate'))
    .withPanel(
      timeseries({
        title: 'Burn rate per window',
        description:
          'How many times faster than sustainable the budget burns, per window. Pages at 14.4x (1h and 5m) or 6x (6h and 30m); tickets at 3x (1d and 2h) or 1x (3d and 6h).',
        w: 24,
        thresholds: [
          [1, 'yellow'],
          [3, 'orange'],
          [6, 'red'],
          [14.4, 'purple'],
        ],
        queries: WINDOWS.map((w) => ({ expr: burn(w), legend: `${LEGEND} ${w}` })),
      }),
    )
    .withPanel(
      timeseries({
        title: 'Error budget remaining',
        description: 'Budget left over the 30-day period, over time.',
        unit: 'percentunit',
        queries: [{ expr: `slo:period_error_budget_remaining:ratio${S}`, legend: LEGEND }],
      }),
    )
    .withPanel(
      timeseries({
        title: 'SLI error ratio',
        description: 'Share of bad events over the short and the long windows.',
        unit: 'percentunit',
        queries: [
          { expr: `slo:sli_error:ratio_rate5m${S}`, legend: `${LEGEND} 5m` },
          { expr: `slo:sli_error:ratio_rate1h${S}`, legend: `${LEGEND} 1h` },
          { expr: `slo:sli_error:ratio_rate1d${S}`, legend: `${LEGEND} 1d` },
        ],
      }),
    )
    .withRow(new RowBuilder('Alerts'))
    .withPanel(
      table({
        title: 'Burn alerts',
        description: 'Pending and firing SLO burn alerts: sloth_severity page (critical) or ticket (warning).',
        queries: [{ expr: `ALERTS${S}` }],
      }),
    )
    .build();
}
