import { resolve, dirname } from 'node:path';
import { configSchema, type VigilConfig } from './schema.js';
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { parseYamlDocument, parseYamlText, type LoadOptions, type Locate } from './yaml-file.js';
import { resolveConfigPaths } from './paths.js';

export { ConfigError, type ConfigIssue } from './errors.js';
export type { VigilConfig } from './schema.js';
export { parseDuration, formatDuration } from '../model/duration.js';

export interface LoadedConfig {
  config: VigilConfig;
  file: string;
  /** Directory of the config file: relative paths in it resolve from here. */
  baseDir: string;
  /** Line of a config path, for errors found after loading. */
  locate?: Locate;
}

export type { Locate } from './yaml-file.js';

export function loadConfig(file: string, opts: LoadOptions = {}): LoadedConfig {
  const abs = resolve(file);
  let raw: string;
  try {
    raw = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new ConfigError(abs, [{ path: '', message: `cannot read file: ${(err as Error).message}` }]);
  }
  const { data, locate } = parseYamlDocument(raw, abs, configSchema, opts);
  const baseDir = dirname(abs);
  return { config: resolveConfigPaths(data, baseDir), file: abs, baseDir, locate };
}

export function parseConfig(text: string, file = '<inline>', opts: LoadOptions = {}): VigilConfig {
  return parseYamlText(text, file, configSchema, opts);
}
