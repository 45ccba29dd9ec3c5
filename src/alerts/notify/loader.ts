/**
 * Where the notification config comes from: the `alerting:` section (a file
 * or inline), an Alertmanager config object, or a path to an Alertmanager file.
 * Secret files are checked when the config loads, not when the first page fails.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { AlertingConfig } from '../../config/alerting.js';
import { interpolateEnv } from '../../config/interpolate.js';
import { alertmanagerConfigSchema, checkSecretFiles, loadAlertmanagerConfig, type AlertmanagerConfig } from './config.js';

export type NotifierConfigSource = AlertingConfig | AlertmanagerConfig | string;

export interface Loaded {
  am: AlertmanagerConfig;
  raw: unknown;
  section?: AlertingConfig;
}

export function isSection(c: object): c is AlertingConfig {
  return 'config_file' in c || 'config' in c || 'redis_key_prefix' in c || 'alertmanagers' in c;
}

export function loadNotifierConfig(config: NotifierConfigSource): Loaded {
  const fromFile = (file: string): Loaded => {
    const am = loadAlertmanagerConfig(file);
    checkSecretFiles(am, file);
    const text = interpolateEnv(readFileSync(file, 'utf8')).text;
    return { am, raw: parseDocument(text).toJS() };
  };
  if (typeof config === 'string') return fromFile(config);
  if (isSection(config)) {
    if (config.config_file) return { ...fromFile(config.config_file), section: config };
    if (config.config) checkSecretFiles(config.config, 'alerting.config');
    const am = config.config ?? alertmanagerConfigSchema.parse({ route: { receiver: 'null' }, receivers: [{ name: 'null' }] });
    return { am, raw: am, section: config };
  }
  return { am: config, raw: config };
}

