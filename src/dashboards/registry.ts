/** The dashboards Vigil ships, in the order they are built and listed. */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { alertsDashboard } from './alerts.js';
import type { BuildContext } from './constants.js';
import { frontendDashboard } from './frontend.js';
import { logsDashboard } from './logs.js';
import { planningApiDashboard } from './planning-api.js';
import { postgresDashboard } from './postgres.js';
import { redisDashboard } from './redis.js';
import { selfDashboard } from './self.js';
import { sloDashboard } from './slo.js';

export interface DashboardModule {
  /** File name under provisioning/dashboards/json/ (without .json). */
  readonly file: string;
  readonly build: (ctx: BuildContext) => Dashboard;
}

export const DASHBOARDS: readonly DashboardModule[] = [
  { file: 'planning-api', build: planningApiDashboard },
  { file: 'postgres', build: postgresDashboard },
  { file: 'redis', build: redisDashboard },
  { file: 'alerts', build: alertsDashboard },
  { file: 'frontend', build: frontendDashboard },
  { file: 'logs', build: logsDashboard },
  { file: 'slo', build: sloDashboard },
  { file: 'self', build: selfDashboard },
];

