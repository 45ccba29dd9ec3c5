/**
 * Shared panel vocabulary: every dashboard builds its panels from these so
 * units, data sources, links and legends look the same everywhere.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  QueryVariableBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type DataSourceRef,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder as PromQuery, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import * as heatmapPanel from '@grafana/grafana-foundation-sdk/heatmap';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { PROMETHEUS_DS, type BuildContext } from './constants.js';

export const promDs: DataSourceRef = { type: 'prometheus', uid: PROMETHEUS_DS };

export interface Q {
  expr: string;
  legend?: string;
  /** Evaluate once at the end of the range (stat and table panels). */
  instant?: boolean;
  /** Bucket series to be drawn as heatmap cells (classic `_bucket` series by `le`). */
  heatmap?: boolean;
}

const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function promTargets(queries: Q[]): PromQuery[] {
  return queries.map((q, i) => {
    const b = new PromQuery().expr(q.expr).refId(REF_IDS[i]).datasource(promDs);
    if (q.legend) b.legendFormat(q.legend);
    if (q.instant) b.instant();
    else b.range();
    if (q.heatmap) b.format(PromQueryFormat.Heatmap);
    return b;
  });
}

export interface PanelLink {
  title: string;
  url: string;
}

function dataLinks(links: PanelLink[]): DashboardLinkBuilder[] {
  return links.map((l) => new DashboardLinkBuilder(l.title).type(DashboardLinkType.Link).url(l.url).tooltip(l.title).icon('external link'));
}

/** A link to another Vigil dashboard, keeping the time range and the shared variables. */
export function toDashboard(uid: string, title: string, panelId?: number): PanelLink {
  const view = panelId === undefined ? '' : `&viewPanel=${panelId}`;
  // Only the time range travels: variables of the same name (job) mean different targets per dashboard.
  return { title, url: `/d/${uid}?\${__url_time_range}${view}` };
}

/** A link to the runbook page for a symptom (docs/runbooks/<name>.md). */
export function runbook(ctx: BuildContext, name: string, title = `Runbook: ${name}`): PanelLink {
  return { title, url: `${ctx.runbookBaseUrl.replace(/\/+$/, '')}/${name}.md` };
}

export interface PanelSpec {
  title: string;
  description: string;
  queries: Q[];
  unit?: string;
  /** Width in grid units (24 = full row). */
  w?: number;
  h?: number;
  links?: PanelLink[];
  /** Threshold steps above the base colour: [value, color]. */
  thresholds?: Array<[number, string]>;
  /** Colour below the first threshold (default green). */
  baseColor?: string;
  min?: number;
  max?: number;
  stack?: boolean;
}

function thresholds(steps: Array<[number, string]> = [], base = 'green'): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder()
    .mode(ThresholdsMode.Absolute)
    .steps([{ value: null, color: base }, ...steps.map(([value, color]) => ({ value, color }))]);
}

export function timeseries(p: PanelSpec): TimeseriesPanel {
  const b = new TimeseriesPanel()
    .title(p.title)
    .description(p.description)
    .datasource(promDs)
    .targets(promTargets(p.queries))
    .unit(p.unit ?? 'short')
    .span(p.w ?? 12)
    .height(p.h ?? 8)
    .lineWidth(1)
    .fillOpacity(p.stack ? 30 : 10)
    .thresholds(thresholds(p.thresholds, p.baseColor))
    .legend(new common.VizLegendOptionsBuilder().displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).showLegend(true).calcs([]))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  if (p.stack) b.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (p.thresholds?.length) b.thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));
  if (p.min !== undefined) b.min(p.min);
  if (p.max !== undefined) b.max(p.max);
  if (p.links?.length) b.links(dataLinks(p.links));
  return b;
}

export function stat(p: PanelSpec): StatPanel {
  const b = new StatPanel()
    .title(p.title)
    .description(p.description)
    .datasource(promDs)
    .targets(promTargets(p.queries.map((q) => ({ ...q, instant: q.instant ?? true }))))
    .unit(p.unit ?? 'short')
    .span(p.w ?? 6)
    .height(p.h ?? 4)
    .thresholds(thresholds(p.thresholds, p.baseColor))
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  if (p.min !== undefined) b.min(p.min);
  if (p.max !== undefined) b.max(p.max);
  if (p.links?.length) b.links(dataLinks(p.links));
  return b;
}

/**
 * A latency heatmap: one column per step, one cell per histogram bucket,
 * coloured by how many observations fell into it. Works from native
 * histograms as well as from classic `_bucket` series queried with
 * `heatmap: true`; the y axis is logarithmic because latency buckets are.
 */
export function heatmap(p: PanelSpec): heatmapPanel.PanelBuilder {
  const b = new heatmapPanel.PanelBuilder()
    .title(p.title)
    .description(p.description)
    .datasource(promDs)
    .targets(promTargets(p.queries))
    .span(p.w ?? 12)
    .height(p.h ?? 8)
    .calculate(false)
    .cellGap(1)
    .color(new heatmapPanel.HeatmapColorOptionsBuilder().mode(heatmapPanel.HeatmapColorMode.Scheme).scheme('Oranges').scale(heatmapPanel.HeatmapColorScale.Exponential).exponent(0.5).steps(64))
    .yAxis(new heatmapPanel.YAxisConfigBuilder().unit(p.unit ?? 's').scaleDistribution(new common.ScaleDistributionConfigBuilder().type(common.ScaleDistribution.Log).log(2)))
    .showLegend()
    .mode(common.TooltipDisplayMode.Single)
    .showYHistogram();
  if (p.links?.length) b.links(dataLinks(p.links));
  return b;
}

/** A table of the current values of one instant query (one row per series). */
export function table(p: PanelSpec): TablePanel {
  const b = new TablePanel()
    .title(p.title)
    .description(p.description)
    .datasource(promDs)
    .targets(promTargets(p.queries.map((q) => ({ ...q, instant: true }))))
    .unit(p.unit ?? 'short')
    .span(p.w ?? 24)
    .height(p.h ?? 8)
    .withTransformation({ id: 'labelsToFields', options: {} });
  if (p.links?.length) b.links(dataLinks(p.links));
  return b;
}

/** A Prometheus label_values() template variable. */
export function labelVariable(name: string, label: string, query: string, opts: { multi?: boolean } = {}): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(promDs)
    .query(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .includeAll(true)
    .allValue('.*')
    .multi(opts.multi ?? true)
    .current({ selected: true, text: 'All', value: '$__all' });
}

/** The frame every Vigil dashboard shares: tags, time, refresh, and a menu of its siblings. */
export function vigilDashboard(ctx: BuildContext, uid: string, title: string, description: string, tags: string[]): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['vigil', ...tags])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: 'now-1h', to: 'now' })
    .refresh('30s')
    .timezone('browser')
    .link(
      new DashboardLinkBuilder('Vigil dashboards')
        .type(DashboardLinkType.Dashboards)
        .tags(['vigil'])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true)
        .icon('external link')
        .tooltip('Other Vigil dashboards')
        .targetBlank(false),
    )
    .link(
      new DashboardLinkBuilder('Runbooks')
        .type(DashboardLinkType.Link)
        .url(`${ctx.runbookBaseUrl.replace(/\/+$/, '')}/`)
        .icon('doc')
        .tooltip('What to do when a panel turns red')
        .tags([])
        .asDropdown(false)
        .includeVars(false)
        .keepTime(false)
        .targetBlank(true),
    );
}
