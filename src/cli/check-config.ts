import { ConfigError, loadConfig } from '../config/index.js';
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
      loadConfig(file);
      console.log(`Checking ${file}\n  SUCCESS: ${file} is valid vigil config file syntax`);
    } catch (err) {
      failed++;
      console.error(err instanceof ConfigError ? `Checking ${file}\n  FAILED: ${err.message}` : String(err));
    }
  }
  return failed ? 1 : 0;
}
