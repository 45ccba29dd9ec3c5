/**
 * Everything `vigil start` checks before it runs, in one place, so that
 * `vigil check config` and a reload refuse exactly what start would refuse:
 * the schema (with every unset variable), then each section's own checks
 * (referenced files, rule globs, cross-field rules), all errors at once, each
 * with file and line. A feature adds its section's check to `configChecks`.
 */
import { loadNotifierConfig } from './alerts/notify/loader.js';
import { loadGroupSpecs } from './alerts/rules/index.js';
import { resolveRuleFiles } from './alerts/rules/files.js';
import { generateSloRuleFiles } from './alerts/slo/index.js';
import { buildLoopSpecs } from './collectors/index.js';
import { checkDiscoveryFiles } from './discovery/index.js';
import { intervalsFor } from './collectors/scrape-targets.js';
import { resolveAlertingPaths } from './config/alerting.js';
import { formatDuration } from './model/duration.js';
import { ConfigError, loadConfig, type ConfigIssue, type LoadedConfig } from './config/index.js';
import type { LoadOptions } from './config/yaml-file.js';
import { silentLogger } from './logger.js';
import { cannotRead, TlsConfigError, tlsOptions } from './util/tls-options.js';
import { httpClientBlocks } from './config/paths.js';
import { httpClientFiles } from './config/http-client.js';
import { formatPath } from './config/errors.js';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface ConfigCheck {
  /** The top-level section checked, for messages. */
  section: string;
  /**
   * Problems `vigil check config` fails on but start and reload go past: the
   * section's own loader logs them and skips only the bad file (SLO files, so
   * one typo in one SLO never stops the other SLOs and every rule file).
   */
  advisory?: boolean;
  run(l: LoadedConfig): Issues | Promise<Issues>;
}

/** `check`: every problem fails (vigil check config, CI). `run`: advisory sections are left to their loaders (start, reload). */
export type CheckPurpose = 'check' | 'run';

type Issues = Array<Omit<ConfigIssue, 'line'> & { at?: (string | number)[] }>;

/** rule_files: every entry matches at least one file, and every file is a valid rule file. */
const ruleFiles: ConfigCheck = {
  section: 'rule_files',
  run(l) {
    const out: Issues = [];
    l.config.rule_files.forEach((pattern, i) => {
      const { files, errors } = resolveRuleFiles([pattern], l.baseDir);
      for (const message of errors) out.push({ path: `rule_files[${i}]`, at: ['rule_files', i], message });
      if (files.length === 0) return;
      for (const message of loadGroupSpecs(files, l.baseDir).errors) out.push({ path: `rule_files[${i}]`, at: ['rule_files', i], message });
    });
    return out;
  },
};

/** slo_files: every SLO file is valid (its rules are generated at start; a bad one is skipped there, with its last good rules kept on reload). */
const sloFiles: ConfigCheck = {
  section: 'slo_files',
  advisory: true,
  run(l) {
    return generateSloRuleFiles(l.config.slo_files, l.baseDir).errors.map((message) => ({ path: 'slo_files', at: ['slo_files'], message }));
  },
};

/** alerting: the Alertmanager file exists and is valid, secret files are readable. */
const alerting: ConfigCheck = {
  section: 'alerting',
  run(l) {
    const a = l.config.alerting;
    if (!a || (!a.config_file && !a.config)) return [];
    const at = a.config_file ? ['alerting', 'config_file'] : ['alerting', 'config'];
    const path = at.join('.');
    try {
      loadNotifierConfig(resolveAlertingPaths(a, l.baseDir));
      return [];
    } catch (err) {
      if (err instanceof ConfigError) {
        return err.issues.map((i) => ({ path, at, message: `${err.file}: ${i.line ? `line ${i.line}: ` : ''}${i.path ? `${i.path}: ` : ''}${i.message}` }));
      }
      return [{ path, at, message: (err as Error).message }];
    }
  },
};

/** scrape_configs: targets that would be dropped, and a job's timeout above its own interval. */
const scrapes: ConfigCheck = {
  section: 'scrape_configs',
  run(l) {
    const out: Issues = [];
    const g = l.config.global;
    l.config.scrape_configs.forEach((sc, i) => {
      const { intervalMs, timeoutMs } = intervalsFor(sc, g);
      if (timeoutMs > intervalMs) {
        out.push({
          path: `scrape_configs[${i}].scrape_timeout`,
          at: ['scrape_configs', i, 'scrape_timeout'],
          message: `scrape_timeout ${formatDuration(timeoutMs)} is greater than the job's scrape_interval ${formatDuration(intervalMs)} (job ${sc.job_name})`,
        });
      }
    });
    for (const message of buildLoopSpecs(l.config, silentLogger()).errors) out.push({ path: 'scrape_configs', at: ['scrape_configs'], message });
    return out;
  },
};

/** jobs: a digest names a receiver of the notification config. */
const jobs: ConfigCheck = {
  section: 'jobs',
  run(l) {
    const out: Issues = [];
    let receivers: string[] | undefined;
    const a = l.config.alerting;
    if (a && (a.config_file || a.config)) {
      try {
        receivers = loadNotifierConfig(resolveAlertingPaths(a, l.baseDir)).am.receivers.map((r) => r.name);
      } catch {
        return []; // reported by the alerting check
      }
    }
    for (const [name, j] of Object.entries(l.config.jobs)) {
      if (j.type !== 'digest' || !j.enabled) continue;
      const at = ['jobs', name, 'receiver'];
      if (!receivers) out.push({ path: at.join('.'), at, message: `the digest goes through a notification receiver, but no notification config is set (alerting.config_file or alerting.config)` });
      else if (!receivers.includes(j.receiver)) out.push({ path: at.join('.'), at, message: `no receiver named "${j.receiver}" in the notification config (have: ${receivers.join(', ')})` });
    }
    return out;
  },
};

/** scrape_configs discovery: file_sd files and other discovery settings that can be checked offline. */
const discovery: ConfigCheck = {
  section: 'scrape_configs',
  async run(l) {
    return (await checkDiscoveryFiles(l.config.scrape_configs, l.baseDir)).map((message) => ({ path: 'scrape_configs', at: ['scrape_configs'], message }));
  },
};

/**
 * Every HTTP client block (scrape configs and their discovery clients, health
 * checks, remote_write, query_backend): its tls_config files exist and hold
 * PEM certificates and keys that fit together, and its password and token
 * files can be read. Scrapes read these files again at every scrape, so a
 * renewed certificate or token is taken without a restart.
 */
const clientFiles: ConfigCheck = {
  section: 'scrape_configs',
  run(l) {
    const out: Issues = [];
    for (const { at, client } of httpClientBlocks(l.config)) {
      const where = formatPath(at);
      for (const [keys, file] of httpClientFiles(client)) {
        const path = resolve(l.baseDir, file);
        try {
          readFileSync(path);
        } catch (err) {
          out.push({ path: formatPath([...at, ...keys]), at: [...at, ...keys], message: cannotRead(path, err) });
        }
      }
      try {
        tlsOptions(client.tls_config, { baseDir: l.baseDir, where: `${where}.tls_config` });
      } catch (err) {
        if (!(err instanceof TlsConfigError)) throw err;
        out.push({ path: err.field, at: [...at, 'tls_config', err.key], message: err.reason });
      }
    }
    return out;
  },
};

export const configChecks: ConfigCheck[] = [ruleFiles, sloFiles, alerting, scrapes, discovery, jobs, clientFiles];

/** Runs every section check; returns all problems with their lines. */
export async function validateConfig(l: LoadedConfig, purpose: CheckPurpose = 'check'): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  for (const c of configChecks) {
    if (c.advisory && purpose === 'run') continue;
    let found: Issues;
    try {
      found = await c.run(l);
    } catch (err) {
      found = [{ path: c.section, at: [c.section], message: `cannot check: ${(err as Error).message}` }];
    }
    for (const { at, ...i } of found) issues.push({ ...i, line: at ? l.locate?.(at) : undefined });
  }
  return issues;
}

/** Loads vigil.yml and runs the checks for `purpose`; throws one ConfigError listing all problems. */
export async function loadValidatedConfig(file: string, opts: LoadOptions = {}, purpose: CheckPurpose = 'check'): Promise<LoadedConfig> {
  const l = loadConfig(file, opts);
  const issues = await validateConfig(l, purpose);
  if (issues.length) throw new ConfigError(l.file, issues);
  return l;
}
