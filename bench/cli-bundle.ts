import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Vigil as deployed runs compiled JavaScript, not through tsx (whose
 * compiler adds start-up time and memory): bundles the CLI with esbuild, next
 * to node_modules so its dependencies resolve, split at dynamic imports so
 * modules loaded on demand stay unloaded, as in the compiled dist/. The
 * scrape worker is an entry of its own, next to the module that starts it.
 * Returns the CLI entry file.
 */
export async function buildCli(): Promise<string> {
  const { build } = await import('esbuild');
  const outdir = join(root, 'node_modules', '.vigil-bench');
  rmSync(outdir, { recursive: true, force: true });
  await build({ entryPoints: { cli: join(root, 'src/cli.ts'), 'scrape-worker': join(root, 'src/collectors/scrape-worker.ts') }, bundle: true, splitting: true, platform: 'node', format: 'esm', packages: 'external', outdir, logLevel: 'error' });
  return join(outdir, 'cli.js');
}
