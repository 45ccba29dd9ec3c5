/**
 * Relative file paths in vigil.yml resolve against the config file's
 * directory, as in Prometheus, whatever directory Vigil was started from.
 *
 * The files of the HTTP client blocks (`tls_config`, `basic_auth.password_file`,
 * `authorization.credentials_file`, `bearer_token_file`) and the few other
 * plain file fields are made absolute once, when the file is loaded: their
 * readers (scrape workers, discovery clients, remote write, the query backend,
 * the log tailer) then need no base directory of their own. Sections that
 * resolve their paths themselves (globs in `rule_files`, `slo_files` and
 * `file_sd_configs`, `kubeconfig_file`, `alerting.config_file`, job
 * directories, `storage.path`) already resolve against the same directory.
 * An inline `alerting.config` resolves its files against the same directory;
 * an `alerting.config_file` against its own, as Alertmanager does.
 */
import { resolve } from 'node:path';
import { resolveAlertmanagerPaths } from '../alerts/notify/config.js';
import { resolveHttpClientFiles, type HttpClientFiles } from './http-client.js';
import type { VigilConfig } from './schema.js';

/** A block with HTTP client settings and where it sits in vigil.yml. */
export interface HttpClientBlock {
  at: (string | number)[];
  client: HttpClientFiles;
}

/** Every block of the config with HTTP client settings, each with its path. */
export function httpClientBlocks(c: VigilConfig): HttpClientBlock[] {
  const out: HttpClientBlock[] = [];
  c.scrape_configs.forEach((sc, i) => {
    out.push({ at: ['scrape_configs', i], client: sc });
    sc.http_sd_configs.forEach((h, j) => out.push({ at: ['scrape_configs', i, 'http_sd_configs', j], client: h }));
    sc.kubernetes_sd_configs.forEach((k, j) => out.push({ at: ['scrape_configs', i, 'kubernetes_sd_configs', j], client: k }));
  });
  c.health_checks.forEach((h, i) => out.push({ at: ['health_checks', i], client: h }));
  c.remote_write.forEach((r, i) => out.push({ at: ['remote_write', i], client: r }));
  if (c.query_backend) out.push({ at: ['query_backend'], client: c.query_backend });
  return out;
}

/** Makes the config's relative file paths absolute against `baseDir`, in place (the config was just parsed). */
export function resolveConfigPaths(c: VigilConfig, baseDir: string): VigilConfig {
  for (const b of httpClientBlocks(c)) resolveHttpClientFiles(b.client, baseDir);
  if (c.alerting?.config) resolveAlertmanagerPaths(c.alerting.config, baseDir);
  for (const f of c.logs.files) f.path = resolve(baseDir, f.path);
  if (c.logs.faro.sourcemaps_dir) c.logs.faro.sourcemaps_dir = resolve(baseDir, c.logs.faro.sourcemaps_dir);
  if (c.global.query_log_file) c.global.query_log_file = resolve(baseDir, c.global.query_log_file);
  return c;
}
