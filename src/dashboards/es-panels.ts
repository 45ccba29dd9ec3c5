/** Elasticsearch panels over the ECS documents src/logs ships. */
import * as common from '@grafana/grafana-foundation-sdk/common';
import { ThresholdsConfigBuilder, ThresholdsMode, type DataSourceRef } from '@grafana/grafana-foundation-sdk/dashboard';
import * as es from '@grafana/grafana-foundation-sdk/elasticsearch';
import { PanelBuilder as LogsPanel } from '@grafana/grafana-foundation-sdk/logs';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { ELASTICSEARCH_DS } from './constants.js';

export const esDs: DataSourceRef = { type: 'elasticsearch', uid: ELASTICSEARCH_DS };

/** ECS field names the shipper writes (src/logs/ecs.ts, src/logs/faro/ecs.ts). */
export const LOG_FIELDS = {
  time: '@timestamp',
  level: 'log.level',
  service: 'service.name',
  message: 'message',
  dataset: 'event.dataset',
  errorType: 'error.type',
} as const;

/** Event count per time bucket, optionally split by a keyword field. */
export function countOverTime(query: string, splitBy?: string): es.DataqueryBuilder {
  const buckets: Array<es.TermsBuilder | es.DateHistogramBuilder> = [];
  if (splitBy) buckets.push(new es.TermsBuilder().id('3').field(splitBy).settings({ size: '10', order: es.TermsOrder.Desc, orderBy: '_count', min_doc_count: '1' }));
  buckets.push(new es.DateHistogramBuilder().id('2').field(LOG_FIELDS.time).settings({ interval: 'auto', min_doc_count: '0' }));
  return new es.DataqueryBuilder()
    .refId('A')
    .datasource(esDs)
    .query(query)
    .timeField(LOG_FIELDS.time)
    .metrics([new es.CountBuilder().id('1')])
    .bucketAggs(buckets);
}

export function volumePanel(title: string, description: string, target: es.DataqueryBuilder, w: number): TimeseriesPanel {
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

/** The latest matching documents, newest first. */
export function recentLogsPanel(title: string, description: string, query: string): LogsPanel {
  return new LogsPanel()
    .title(title)
    .description(description)
    .datasource(esDs)
    .withTarget(
      new es.DataqueryBuilder()
        .refId('A')
        .datasource(esDs)
        .query(query)
        .timeField(LOG_FIELDS.time)
        .metrics([new es.LogsBuilder().id('1').settings({ limit: '100' })])
        .bucketAggs([]),
    )
    .span(24)
    .height(12)
    .showTime(true)
    .wrapLogMessage(true)
    .enableLogDetails(true)
    .sortOrder(common.LogsSortOrder.Descending)
    .dedupStrategy(common.LogsDedupStrategy.None);
}
