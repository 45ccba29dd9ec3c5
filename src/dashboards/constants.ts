/** Data source UIDs: fixed so dashboards, provisioning and alert links agree. */
export const PROMETHEUS_DS = 'vigil';
export const ELASTICSEARCH_DS = 'vigil-logs';

/** Dashboard UIDs: alert rules link to these (`dashboard` annotations). */
export const UID = {
  planningApi: 'vigil-planning-api',
  postgres: 'vigil-postgres',
  redis: 'vigil-redis',
  alerts: 'vigil-alerts',
  frontend: 'vigil-frontend',
  logs: 'vigil-logs',
  self: 'vigil-self',
  slo: 'vigil-slo',
} as const;

/**
 * Where docs/runbooks/ is published. Overridable at build time
 * (`vigil dashboards build --runbook-base URL`, or grafana.runbook_base_url).
 */
export const DEFAULT_RUNBOOK_BASE_URL = 'http://localhost:9470/runbooks';

/** Options every dashboard module is built with. */
export interface BuildContext {
  runbookBaseUrl: string;
}

export const defaultContext = (): BuildContext => ({ runbookBaseUrl: DEFAULT_RUNBOOK_BASE_URL });
