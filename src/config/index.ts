import { resolve, dirname } from 'node:path';
import { configSchema, type VigilConfig } from './schema.js';
import { loadYamlFile, parseYamlText, type LoadOptions } from './yaml-file.js';

export { ConfigError, type ConfigIssue } from './errors.js';
export type { VigilConfig } from './schema.js';
export { parseDuration, formatDuration } from '../model/duration.js';

export interface LoadedConfig {
  config: VigilConfig;
  file: string;
  /** Directory of the config file: relative paths in it resolve from here. */
  baseDir: string;
}

export function loadConfig(file: string, opts: LoadOptions = {}): LoadedConfig {
  const abs = resolve(file);
  return { config: loadYamlFile(abs, configSchema, opts), file: abs, baseDir: dirname(abs) };
}

export function parseConfig(text: string, file = '<inline>', opts: LoadOptions = {}): VigilConfig {
  return parseYamlText(text, file, configSchema, opts);
}
