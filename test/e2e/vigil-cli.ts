/**
 * How a test runs Vigil's CLI as a process of its own. The build in dist/
 * starts in about half the time of the sources through tsx (its scrape
 * threads too, each loading the code again), which counts for tests that
 * start several instances; it is used only when it is current, so a test
 * never runs older code than the sources.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newestMtime } from '../helpers/mtime.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Whether dist/ holds a build newer than every source file (`npm ci` and
 * `npm run build` make one; the compiler writes every output on each build).
 */
function distIsCurrent(): boolean {
  const built = newestMtime(join(ROOT, 'dist/cli.js'));
  return built > 0 && newestMtime(join(ROOT, 'src')) <= built;
}

/** Arguments to `node` (before the CLI's own) that run Vigil's CLI: dist/cli.js when current, else src/cli.ts through tsx. */
export const vigilCli: readonly string[] = distIsCurrent()
  ? [join(ROOT, 'dist/cli.js')]
  : ['--import', join(ROOT, 'node_modules/tsx/dist/loader.mjs'), join(ROOT, 'src/cli.ts')];
