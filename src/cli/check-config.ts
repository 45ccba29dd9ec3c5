import { ConfigError, loadConfig } from '../config/index.js';
import { generateSloRuleFiles } from '../alerts/slo/index.js';
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
      const loaded = loadConfig(file);
      const slos = generateSloRuleFiles(loaded.config.slo_files, loaded.baseDir);
      if (slos.errors.length) throw new ConfigError(file, slos.errors.map((e) => ({ path: 'slo_files', message: e })));
      console.log(`Checking ${file}\n  SUCCESS: ${file} is valid vigil config file syntax`);
    } catch (err) {
      failed++;
      console.error(err instanceof ConfigError ? `Checking ${file}\n  FAILED: ${err.message}` : String(err));
    }
  }
  return failed ? 1 : 0;
}
