/**
 * Logs in Elasticsearch, as shipped by src/logs (ECS fields: @timestamp,
 * log.level, message, service.name, error.*).
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  VariableRefresh,
  VariableSort, ThresholdsMode,
  type Dashboard,
  type DataSourceRef,
} from '@grafana/grafana-foundation-sdk/dashboard';
import * as es from '@grafana/grafana-foundation-sdk/elasticsearch';
import { PanelBuilder as LogsPanel } from '@grafana/grafana-foundation-sdk/logs';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { ELASTICSEARCH_DS, UID, type BuildContext } from './constants.js';
import { vigilDashboard } from './panels.js';

export const esDs: DataSourceRef = { type: 'elasticsearch', uid: ELASTICSEARCH_DS };

/** ECS field names the shipper writes. */
export const LOG_FIELDS = { time: '@timestamp', level: 'log.level', service: 'service.name', message: 'message' } as const;

const ERRORS = `${LOG_FIELDS.level}:(error OR fatal OR panic)`;
const serviceFilter = (q: string) => `${LOG_FIELDS.service}:$service AND ${q}`;

function countOverTime(refId: string, query: string, splitBy?: string): es.DataqueryBuilder {
  const buckets: Array<es.TermsBuilder | es.DateHistogramBuilder> = [];
  if (splitBy) buckets.push(new es.TermsBuilder().id('3').field(splitBy).settings({ size: '10', order: es.TermsOrder.Desc, orderBy: '_count', min_doc_count: '1' }));
  buckets.push(new es.DateHistogramBuilder().id('2').field(LOG_FIELDS.time).settings({ interval: 'auto', min_doc_count: '0' }));
  return new es.DataqueryBuilder()
    .refId(refId)
    .datasource(esDs)
    .query(query)
    .timeField(LOG_FIELDS.time)
    .metrics([new es.CountBuilder().id('1')])
    .bucketAggs(buckets);
}

function volumePanel(title: string, description: string, target: es.DataqueryBuilder, w: number): TimeseriesPanel {
  return new TimeseriesPanel()
    .title(title)
    .description(description)
    .datasource(esDs)
    .withTarget(target)
    .unit('short')
    .span(w)
    .height(8)
    .drawStyle(common.GraphDrawStyle.Bars)
    .fillOpacity(60)
    .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
    .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ value: null, color: 'green' }]))
    .legend(new common.VizLegendOptionsBuilder().displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).showLegend(true).calcs([]));
}

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
    .withPanel(volumePanel('Log volume by level', 'Log events per interval, split by log.level.', countOverTime('A', serviceFilter('*'), LOG_FIELDS.level), 16))
    .withPanel(volumePanel('Errors', 'Events at level error, fatal or panic.', countOverTime('A', serviceFilter(ERRORS)), 8))
    .withRow(new RowBuilder('Recent errors'))
    .withPanel(
      new LogsPanel()
        .title('Recent errors')
        .description('The latest error events; expand one for its stack trace and trace_id.')
        .datasource(esDs)
        .withTarget(new es.DataqueryBuilder().refId('A').datasource(esDs).query(serviceFilter(ERRORS)).timeField(LOG_FIELDS.time).metrics([new es.LogsBuilder().id('1').settings({ limit: '100' })]).bucketAggs([]))
        .span(24)
        .height(12)
        .showTime(true)
        .wrapLogMessage(true)
        .enableLogDetails(true)
        .sortOrder(common.LogsSortOrder.Descending)
        .dedupStrategy(common.LogsDedupStrategy.None),
    )
    .build();
}
