/** Logs in Elasticsearch, as shipped by src/logs: volume by level and recent errors. */
import { QueryVariableBuilder, RowBuilder, VariableRefresh, VariableSort, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { UID, type BuildContext } from './constants.js';
import { countOverTime, esDs, LOG_FIELDS, recentLogsPanel, volumePanel } from './es-panels.js';
import { vigilDashboard } from './panels.js';

export const ERRORS_QUERY = `${LOG_FIELDS.level}:(error OR fatal OR panic)`;
const forService = (q: string) => `${LOG_FIELDS.service}:$service AND ${q}`;

export function logsDashboard(ctx: BuildContext): Dashboard {
  return vigilDashboard(ctx, UID.logs, 'Logs', 'Log volume by level and recent errors from Elasticsearch.', ['logs'])
    .withVariable(
      new QueryVariableBuilder('service')
        .label('Service')
        .datasource(esDs)
        .query(`{"find": "terms", "field": "${LOG_FIELDS.service}"}`)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .includeAll(true)
        .allValue('*')
        .multi(false)
        .current({ selected: true, text: 'All', value: '$__all' }),
    )
    .withRow(new RowBuilder('Volume'))
    .withPanel(volumePanel('Log volume by level', 'Log events per interval, split by log.level.', countOverTime(forService('*'), LOG_FIELDS.level), 16))
    .withPanel(volumePanel('Errors', 'Events at level error, fatal or panic.', countOverTime(forService(ERRORS_QUERY)), 8))
    .withRow(new RowBuilder('Recent errors'))
    .withPanel(recentLogsPanel('Recent errors', 'The latest error events; expand one for its stack trace and trace_id.', forService(ERRORS_QUERY)))
    .build();
}
