/**
 * Turns SLO specs into Prometheus rule groups the way the SRE workbook's
 * "multiwindow, multi-burn-rate alerts" prescribe, with the series names and
 * labels Sloth generates (`slo:sli_error:ratio_rate5m{sloth_id=…}` …), so
 * dashboards and alerts written for Sloth's output work unchanged.
 */
import { stringify } from 'yaml';
import { formatFloat } from '../../model/strconv.js';
import { WINDOW_PLACEHOLDER, type SloFile, type SloSpec } from './spec.js';

/** The windows the workbook's alerts read; 30d is the SLO period. */
export const SLI_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;
export const PERIOD_WINDOW = '30d';

/** The SLI recording of each window, spelled out so a search for a series name finds its producer. */
export const SLI_RECORD: Record<(typeof SLI_WINDOWS)[number] | typeof PERIOD_WINDOW, string> = {
  '5m': 'slo:sli_error:ratio_rate5m',
  '30m': 'slo:sli_error:ratio_rate30m',
  '1h': 'slo:sli_error:ratio_rate1h',
  '2h': 'slo:sli_error:ratio_rate2h',
  '6h': 'slo:sli_error:ratio_rate6h',
  '1d': 'slo:sli_error:ratio_rate1d',
  '3d': 'slo:sli_error:ratio_rate3d',
  '30d': 'slo:sli_error:ratio_rate30d',
};
export const PERIOD_DAYS = 30;

type Window = (typeof SLI_WINDOWS)[number];
interface BurnPair {
  factor: number;
  long: Window;
  short: Window;
}

/** Burn-rate factor, long window, short window: page and ticket pairs from the workbook. */
export const PAGE_WINDOWS: readonly BurnPair[] = [
  { factor: 14.4, long: '1h', short: '5m' },
  { factor: 6, long: '6h', short: '30m' },
];
export const TICKET_WINDOWS: readonly BurnPair[] = [
  { factor: 3, long: '1d', short: '2h' },
  { factor: 1, long: '3d', short: '6h' },
];

/** Severities the shipped routing sends to the pager (critical) and to the ticket channel (warning). */
export const DEFAULT_PAGE_SEVERITY = 'critical';
export const DEFAULT_TICKET_SEVERITY = 'warning';

export interface RuleOut {
  record?: string;
  alert?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface GroupOut {
  name: string;
  rules: RuleOut[];
}

function selector(labels: Record<string, string>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')}}`;
}

function sliQueries(slo: SloSpec): { errorRatio: (w: string) => string } {
  const sli = slo.sli;
  if (sli.raw) {
    const q = sli.raw.error_ratio_query;
    return { errorRatio: (w) => q.replace(WINDOW_PLACEHOLDER, w) };
  }
  let errorQ: string;
  let totalQ: string;
  if (sli.latency) {
    const { metric, threshold } = sli.latency;
    const inner = sli.latency.selector.trim().slice(1, -1).trim();
    const sel = inner ? `{${inner}}` : '';
    const bucketSel = `{${inner ? `${inner}, ` : ''}le="${formatFloat(threshold)}"}`;
    totalQ = `sum(rate(${metric}_count${sel}[{{.window}}]))`;
    errorQ = `${totalQ} - sum(rate(${metric}_bucket${bucketSel}[{{.window}}]))`;
  } else {
    errorQ = sli.events!.error_query;
    totalQ = sli.events!.total_query;
  }
  return {
    errorRatio: (w) => `(${errorQ.replace(WINDOW_PLACEHOLDER, w).trim()})\n/\n(${totalQ.replace(WINDOW_PLACEHOLDER, w).trim()})`,
  };
}

/** Error budget as a ratio, rounded so 99.9 gives 0.001 and not 0.0010000000000000009. */
export function errorBudget(objective: number): number {
  return Number((1 - objective / 100).toPrecision(12));
}

function sloGroups(file: SloFile, slo: SloSpec): GroupOut[] {
  const id = `${file.service}-${slo.name}`;
  const ids = { sloth_id: id, sloth_service: file.service, sloth_slo: slo.name };
  const sel = selector(ids);
  const userLabels = { ...file.labels, ...slo.labels };
  const budget = errorBudget(slo.objective);
  const { errorRatio } = sliQueries(slo);

  const sli: RuleOut[] = SLI_WINDOWS.map((w) => ({
    record: SLI_RECORD[w],
    expr: errorRatio(w),
    labels: { ...userLabels, ...ids, sloth_window: w },
  }));
  sli.push({
    record: SLI_RECORD[PERIOD_WINDOW],
    expr:
      `sum_over_time(${SLI_RECORD['5m']}${sel}[${PERIOD_WINDOW}])\n` +
      `/ ignoring (sloth_window)\n` +
      `count_over_time(${SLI_RECORD['5m']}${sel}[${PERIOD_WINDOW}])`,
    labels: { ...userLabels, ...ids, sloth_window: PERIOD_WINDOW },
  });

  const on = 'on (sloth_id, sloth_slo, sloth_service) group_left';
  const meta: RuleOut[] = [
    { record: 'slo:objective:ratio', expr: `vector(${formatFloat(slo.objective / 100)})`, labels: { ...userLabels, ...ids } },
    { record: 'slo:error_budget:ratio', expr: `vector(${formatFloat(budget)})`, labels: { ...userLabels, ...ids } },
    { record: 'slo:time_period:days', expr: `vector(${PERIOD_DAYS})`, labels: { ...userLabels, ...ids } },
    {
      record: 'slo:current_burn_rate:ratio',
      expr: `${SLI_RECORD['5m']}${sel}\n/ ${on}\nslo:error_budget:ratio${sel}`,
      labels: { ...userLabels, ...ids },
    },
    {
      record: 'slo:period_burn_rate:ratio',
      expr: `${SLI_RECORD[PERIOD_WINDOW]}${sel}\n/ ${on}\nslo:error_budget:ratio${sel}`,
      labels: { ...userLabels, ...ids },
    },
    {
      record: 'slo:period_error_budget_remaining:ratio',
      expr: `1 - slo:period_burn_rate:ratio${sel}`,
      labels: { ...userLabels, ...ids },
    },
    {
      record: 'sloth_slo_info',
      expr: 'vector(1)',
      labels: { ...userLabels, ...ids, sloth_objective: formatFloat(slo.objective), sloth_mode: 'vigil', sloth_spec: 'prometheus/v1' },
    },
  ];

  const burn = (pairs: ReadonlyArray<BurnPair>): string =>
    pairs
      .map(
        ({ factor, long, short }) =>
          `(\n  max(${SLI_RECORD[short]}${sel} > (${factor} * ${formatFloat(budget)})) without (sloth_window)\n` +
          `  and\n` +
          `  max(${SLI_RECORD[long]}${sel} > (${factor} * ${formatFloat(budget)})) without (sloth_window)\n)`,
      )
      .join('\nor\n');

  const alerting = slo.alerting;
  const objective = `objective ${formatFloat(slo.objective)}% over ${PERIOD_WINDOW}${slo.description ? `: ${slo.description}` : ''}`;
  const policy = (pairs: ReadonlyArray<BurnPair>): string =>
    pairs.map((p) => `${p.factor}x over ${p.long} and ${p.short}`).join(', or ');
  // Static texts: the burn policy that fired says how urgent it is; the dashboard shows the numbers.
  const annotationsFor = (pairs: ReadonlyArray<BurnPair>): Record<string, string> => ({
    summary: `${file.service} ${slo.name} SLO: error budget burning fast`,
    description: `The error budget (${objective}) burns at more than ${policy(pairs)} the sustainable rate.`,
    runbook_url: `{{ $externalURL }}/runbooks/SLOErrorBudgetBurn.md`,
    dashboard: '/d/vigil-slo',
    ...alerting.annotations,
  });
  const alerts: RuleOut[] = [];
  const levels = [
    { key: 'page', spec: alerting.page_alert, pairs: PAGE_WINDOWS, severity: DEFAULT_PAGE_SEVERITY },
    { key: 'ticket', spec: alerting.ticket_alert, pairs: TICKET_WINDOWS, severity: DEFAULT_TICKET_SEVERITY },
  ] as const;
  for (const level of levels) {
    if (level.spec.disable) continue;
    alerts.push({
      alert: alerting.name,
      expr: burn(level.pairs),
      labels: {
        severity: level.severity,
        ...userLabels,
        ...alerting.labels,
        ...level.spec.labels,
        sloth_severity: level.key,
      },
      annotations: { ...annotationsFor(level.pairs), ...level.spec.annotations },
    });
  }

  const groups: GroupOut[] = [
    { name: `slo-sli-recordings-${id}`, rules: sli },
    { name: `slo-meta-recordings-${id}`, rules: meta },
  ];
  if (alerts.length) groups.push({ name: `slo-alerts-${id}`, rules: alerts });
  return groups;
}

export function generateGroups(file: SloFile): GroupOut[] {
  return file.slos.flatMap((slo) => sloGroups(file, slo));
}

/** The rule file text for one SLO file, deterministic so a drift check can compare it. */
export function renderRuleFile(file: SloFile, source: string): string {
  const header = `# Generated from ${source} by \`vigil slo generate\`; do not edit.\n`;
  return header + stringify({ groups: generateGroups(file) }, { lineWidth: 0, blockQuote: 'literal' });
}
