import { loadValidatedConfig } from '../config-check.js';
import { ConfigError } from '../config/index.js';
import { startVigil } from '../main.js';
import { flagString, parseArgs } from './args.js';
import { compactHeapOnce } from './service-heap.js';

export async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  const file = flagString(parsed, 'config', process.env.VIGIL_CONFIG ?? 'vigil.yml')!;
  let loaded;
  try {
    loaded = await loadValidatedConfig(file, {}, 'run');
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : String(err));
    return 1;
  }
  const vigil = await startVigil(loaded, { handleSignals: true, beforeReady: compactHeapOnce });
  await vigil.closed;
  return 0;
}
