/**
 * Grafana provisioning for the data sources and the dashboard provider. URLs
 * are left to Grafana's own `${ENV}` expansion so one committed file serves
 * docker-compose, a real Prometheus and Elasticsearch clusters alike.
 */
import { ELASTICSEARCH_DS, PROMETHEUS_DS } from './constants.js';

/** Where the dashboard JSON lands inside the Grafana container. */
export const GRAFANA_DASHBOARD_PATH = '/etc/grafana/provisioning/dashboards/json';

export const datasourcesProvisioning = {
  apiVersion: 1,
  datasources: [
    {
      name: 'Vigil',
      uid: PROMETHEUS_DS,
      type: 'prometheus',
      access: 'proxy',
      // Vigil's Prometheus-compatible API by default; point it at a real Prometheus to compare.
      url: '${VIGIL_PROMETHEUS_URL}',
      isDefault: true,
      editable: false,
      jsonData: { httpMethod: 'POST', timeInterval: '15s', prometheusType: 'Prometheus' },
    },
    {
      name: 'Vigil logs',
      uid: ELASTICSEARCH_DS,
      type: 'elasticsearch',
      access: 'proxy',
      url: '${ELASTICSEARCH_URL}',
      editable: false,
      jsonData: {
        index: '${ELASTICSEARCH_LOG_INDEX}',
        timeField: '@timestamp',
        logLevelField: 'log.level',
        logMessageField: 'message',
        maxConcurrentShardRequests: 5,
      },
    },
  ],
};

export const dashboardProvider = {
  apiVersion: 1,
  providers: [
    {
      name: 'vigil',
      orgId: 1,
      folder: 'Vigil',
      folderUid: 'vigil',
      type: 'file',
      disableDeletion: false,
      allowUiUpdates: false,
      updateIntervalSeconds: 60,
      options: { path: GRAFANA_DASHBOARD_PATH, foldersFromFilesStructure: false },
    },
  ],
};
