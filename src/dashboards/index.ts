/** Dashboards as code: the public surface of src/dashboards. */
export { DASHBOARDS, type DashboardModule } from './registry.js';
export { UID, PROMETHEUS_DS, ELASTICSEARCH_DS, DEFAULT_RUNBOOK_BASE_URL, defaultContext, type BuildContext } from './constants.js';
export { buildDashboards, buildProvisioning, writeProvisioning, type BuiltFile, type JsonObject } from './build.js';
export { CATALOGUE, indexCatalogue, type MetricInfo, type MetricSource } from './catalogue.js';
