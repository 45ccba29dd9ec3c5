/**
 * Expressions the differential test evaluates in Vigil and in the real
 * Prometheus. The documented rules (seed notes §4) come first, verbatim, then
 * generated families: selectors with every matcher type, range and instant
 * functions, aggregations with by/without, binary matching, set operators,
 * offset/@, subqueries.
 *
 * Left out on purpose, because Prometheus 2.42 (the Debian oracle) and
 * Prometheus 3 (what the engine follows) differ, or 2.42 lacks them:
 * - holt_winters (renamed double_exponential_smoothing, experimental, in 3);
 * - sort_by_label, sort_by_label_desc, limitk, limit_ratio, mad_over_time,
 *   info(), double_exponential_smoothing: experimental or absent in 2.42;
 * - native histograms (out of scope);
 * - samples exactly on a range boundary: 3 uses left-open windows (t-range, t],
 *   2.42 closed ones; the data sits at :03/:18/:33/:48 and evaluation never
 *   lands a window edge on a sample (see the times in differential.test.ts);
 * - regex `.` against values with newlines (3 matches them, 2.42 does not):
 *   no generated value has one;
 * - atan2 on a vector with a metric name: 2.42 keeps the name, 3 drops it;
 * - sums and averages of many floats: 3 uses Kahan summation and a different
 *   mean update, so results are compared with a relative tolerance.
 */

export const DOCUMENTED_RULES = [
  'rate(http_requests_total{status=~"5.."}[5m]) > 0.1',
  'histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m])) > 1',
  '(process_resident_memory_bytes / 1024 / 1024) > 400',
  'rate(process_cpu_seconds_total[5m]) * 100 > 80',
  'up{job="postgres"} == 0',
  'up{job="redis"} == 0',
  'sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05',
  'histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m])) > 0.5',
  'increase(kube_pod_container_status_restarts_total{namespace="sical"}[1h]) > 3',
  'rate(kube_pod_container_status_restarts_total[15m]) > 0',
  'up{job="database"} == 0',
  // Operations handbook: mean response time above 2s, 5xx ratio above 5%.
  'sum(rate(http_request_duration_seconds_sum[5m])) / sum(rate(http_request_duration_seconds_count[5m])) > 2',
  // The same rules without their thresholds, so the values themselves are compared.
  'rate(http_requests_total{status=~"5.."}[5m])',
  'histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m]))',
  '(process_resident_memory_bytes / 1024 / 1024)',
  'rate(process_cpu_seconds_total[5m]) * 100',
  'sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))',
  'increase(kube_pod_container_status_restarts_total{namespace="sical"}[1h])',
  'sum(rate(http_request_duration_seconds_sum[5m])) / sum(rate(http_request_duration_seconds_count[5m]))',
];

function generated(): string[] {
  const out: string[] = [];
  // Selectors: every matcher type, metric-name matchers, offset, @.
  out.push(
    'up',
    'up{job="postgres"}',
    'up{job!="redis"}',
    'up{job=~"post.*|redis"}',
    'up{job!~"red.*"}',
    'up{job=~"(?i)POSTGRES"}',
    'up{nonexistent=""}',
    'up{job=""}',
    'http_requests_total{status=~"5.."}',
    'http_requests_total{method="GET",endpoint!="/health"}',
    'http_requests_total{endpoint=~"/api/.*",status!~"2.."}',
    '{__name__=~"process_.*"}',
    '{__name__="up",job=~".+"}',
    '{__name__=~"cache_(hits|misses)_total",cache_type="plans"}',
    'process_resident_memory_bytes offset 5m',
    'up offset -5m',
    'up @ 1700000000',
    'process_cpu_seconds_total @ 1700000000 offset 1m',
    'up[1m]',
    'http_requests_total{status="500",endpoint="/api/plans"}[2m]',
    'nonexistent_metric',
  );
  // Range functions over a counter, a counter with resets and a gauge.
  const rangeFns = [
    'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'resets', 'changes',
    'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time',
    'stddev_over_time', 'stdvar_over_time', 'last_over_time', 'present_over_time',
  ];
  const series = ['http_requests_total{endpoint="/api/plans",method="GET"}', 'process_cpu_seconds_total', 'process_resident_memory_bytes'];
  for (const f of rangeFns) for (const s of series) for (const r of ['1m', '5m']) out.push(`${f}(${s}[${r}])`);
  out.push(
    'quantile_over_time(0.9, process_resident_memory_bytes[5m])',
    'quantile_over_time(0, active_connections[10m])',
    'quantile_over_time(1, active_connections[10m])',
    'quantile_over_time(1.5, active_connections[10m])',
    'predict_linear(process_resident_memory_bytes[10m], 600)',
    'predict_linear(process_cpu_seconds_total[5m], 3600)',
    'absent_over_time(nonexistent[5m])',
    'absent_over_time(up{job="postgres"}[5m])',
    'absent_over_time(nonexistent{job="x",a=~"b"}[5m])',
    'rate(http_requests_total[5m] offset 10m)',
    'increase(process_cpu_seconds_total[10m] @ 1700000000)',
  );
  // Instant functions on a gauge (scaled so asin/acos have a domain).
  for (const f of ['abs', 'ceil', 'floor', 'round', 'sqrt', 'exp', 'ln', 'log2', 'log10', 'sgn', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh', 'deg', 'rad', 'timestamp']) {
    out.push(`${f}(active_connections / 40)`);
  }
  out.push(
    'round(active_connections, 5)',
    'round(active_connections, 0.3)',
    'clamp(active_connections, 10, 30)',
    'clamp(active_connections, 30, 10)',
    'clamp_min(active_connections, 25)',
    'clamp_max(active_connections, 25)',
    'sort(active_connections)',
    'sort_desc(active_connections)',
    'day_of_week()',
    'day_of_month()',
    'days_in_month()',
    'hour()',
    'minute()',
    'month()',
    'year()',
    'hour(timestamp(up))',
    'minute(process_resident_memory_bytes / 1e7)',
    'time()',
    'vector(1)',
    'vector(time())',
    'scalar(sum(up))',
    'scalar(up)',
    'pi()',
    'absent(nonexistent)',
    'absent(up{job="nope",instance=~"x"})',
    'absent(up)',
    'label_replace(up, "host", "$1", "instance", "(.*):.*")',
    'label_replace(up, "job", "", "job", ".*")',
    'label_replace(up, "x", "$2-$1", "instance", "([a-z]+):([0-9]+)")',
    'label_join(up, "id", "/", "job", "instance")',
    'label_join(up, "job", "")',
  );
  // Aggregations with every grouping form.
  const inner = 'rate(http_requests_total[5m])';
  for (const a of ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar']) {
    for (const g of ['', ' by (job)', ' by (method, status)', ' without (instance)', ' without (instance, endpoint, method)']) {
      out.push(`${a}${g} (${inner})`);
    }
  }
  out.push(
    `topk(3, ${inner})`,
    `bottomk(2, ${inner})`,
    `topk by (endpoint) (1, ${inner})`,
    `bottomk without (status) (1, ${inner})`,
    `quantile(0.5, ${inner})`,
    `quantile by (job) (0.9, ${inner})`,
    `quantile(-1, ${inner})`,
    'count_values("value", up)',
    'count_values by (job) ("v", up)',
    'count_values("version", sical_build_info)',
    'sum(up) by (job)',
    'avg(process_resident_memory_bytes)',
    'max by (cache_type) (cache_hits_total / ignoring(__name__) cache_misses_total)',
    'sum by (le) (http_request_duration_seconds_bucket)',
  );
  // Classic histograms.
  for (const q of [0, 0.25, 0.5, 0.9, 0.99, 1]) {
    out.push(`histogram_quantile(${q}, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))`);
  }
  out.push(
    'histogram_quantile(0.9, sum by (le, endpoint) (rate(http_request_duration_seconds_bucket[5m])))',
    'histogram_quantile(0.5, sum by (le, method) (rate(http_request_duration_seconds_bucket[10m])))',
    'histogram_quantile(0.99, rate(http_request_duration_seconds_bucket{endpoint="/health"}[1m]))',
    'histogram_quantile(1.5, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))',
  );
  // Binary operators: arithmetic, comparisons with and without bool, vector matching.
  out.push(
    'http_requests_total + 1',
    '2 * http_requests_total{status="200"}',
    'http_requests_total % 7',
    'active_connections ^ 2',
    'active_connections - active_connections offset 5m',
    '-active_connections',
    'active_connections / 0',
    '-active_connections / 0',
    '(active_connections - active_connections) / 0',
    // 2.42 keeps the metric name on atan2, 3 drops it (as for the other arithmetic operators).
    '(active_connections / 1) atan2 10',
    '1 + 2 * 3',
    '2 ^ 3 ^ 2',
    '(1 + 2) * 3',
    '-2 ^ 2',
    '10 % 3',
    '1 < bool 2',
    '2 == bool 2',
    'up == 1',
    'up != 0',
    'up == bool 1',
    'active_connections > bool 20',
    'active_connections < 25',
    'active_connections >= 20 <= 30',
    '20 < active_connections',
    'rate(http_requests_total[5m]) / ignoring(status) group_left sum without (status) (rate(http_requests_total[5m]))',
    'sum by (instance, status) (rate(http_requests_total[5m])) / on(instance) group_left sum by (instance) (rate(http_requests_total[5m]))',
    'process_resident_memory_bytes * on(instance) group_left(version) sical_build_info',
    'sical_build_info * on(instance) group_right(version) process_resident_memory_bytes',
    'sum by (instance) (rate(http_requests_total[5m])) / on(instance) rate(process_cpu_seconds_total[5m])',
    'sum by (instance) (rate(http_requests_total[5m])) > on(instance) bool sum by (instance) (rate(http_requests_total[5m] offset 10m))',
    'cache_hits_total / ignoring(__name__) cache_misses_total',
    'rate(cache_hits_total[5m]) / (rate(cache_hits_total[5m]) + ignoring(__name__) rate(cache_misses_total[5m]))',
    'http_requests_total / on(instance) http_requests_total',
    'process_resident_memory_bytes / on() group_left scalar(count(up))',
  );
  // Set operators.
  out.push(
    'up{job=~"post.*|redis"} and up == 1',
    'up or vector(0)',
    'up unless up{job="redis"}',
    'http_requests_total and on(status) http_requests_total{status="500",endpoint="/health"}',
    'rate(http_requests_total[5m]) > 1 or rate(http_requests_total[5m]) < 0.1',
    'up{job="postgres"} or up{job="redis"} unless up == 0',
    'sum by (job) (up) and ignoring(job) vector(1)',
    'process_resident_memory_bytes unless on(instance) sical_build_info{version="1.1.0"}',
  );
  // offset and @ with start()/end().
  out.push(
    'sum(up offset 1h)',
    'process_cpu_seconds_total @ start()',
    'rate(process_cpu_seconds_total[5m] @ end())',
    'max_over_time(process_resident_memory_bytes[10m] @ start() offset -5m)',
    'timestamp(up @ 1700000000)',
  );
  // Subqueries (their steps align to the epoch, never on a sample).
  out.push(
    'max_over_time(rate(http_requests_total{endpoint="/api/plans"}[1m])[10m:1m])',
    'avg_over_time(up[10m:30s])',
    'min_over_time(sum(active_connections)[15m:15s])',
    'rate(process_cpu_seconds_total[5m:15s])',
    'max_over_time(deriv(process_resident_memory_bytes[5m])[30m:2m])',
    'sum_over_time((up == 0)[20m:1m])',
    'count_over_time(up{job="redis"}[10m:45s] offset 2m)',
    'quantile_over_time(0.5, rate(process_cpu_seconds_total[2m])[20m:1m])',
    'sum(rate(http_requests_total[5m]))[10m:1m]',
  );
  return out;
}

export const GENERATED_EXPRESSIONS = generated();
