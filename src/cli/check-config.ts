/**
 * `vigil check config FILE...`: every check `vigil start` runs (schema, unset
 * variables, referenced files, rule globs and rule files, the notification
 * config, cross-field rules), all errors of a file listed at once with lines.
 */
import { loadValidatedConfig } from '../config-check.js';
import { ConfigError } from '../config/index.js';
import { checkDiscoveryFiles } from '../discovery/index.js';
import { parseArgs } from './args.js';

export async function run(args: string[]): Promise<number> {
  const { positional } = parseArgs(args);
  if (positional.length === 0) {
    console.error('usage: vigil check config FILE...');
    return 2;
  }
  let failed = 0;
  for (const file of positional) {
    try {
      const l = loadValidatedConfig(file);
      // Discovery files are read asynchronously, so they are checked here rather than among the sync checks.
      const sd = await checkDiscoveryFiles(l.config.scrape_configs, l.baseDir);
      if (sd.length) throw new ConfigError(file, sd.map((e) => ({ path: 'scrape_configs', message: e })));
      const rules = l.config.rule_files.length ? `, ${l.config.rule_files.length} rule_files entr${l.config.rule_files.length === 1 ? 'y' : 'ies'} matching files` : ', no rule_files';
      console.log(`Checking ${file}\n  SUCCESS: ${file} is a valid Vigil config file${rules}`);
    } catch (err) {
      failed++;
      console.error(err instanceof ConfigError ? `Checking ${file}\n  FAILED: ${err.message}` : `Checking ${file}\n  FAILED: ${String(err)}`);
    }
  }
  return failed ? 1 : 0;
}
