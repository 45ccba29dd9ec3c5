/**
 * How a test runs Vigil's CLI as a process of its own. The build in dist/
 * starts in about half the time of the sources through tsx (its scrape
 * threads too, each loading the code again), which counts for tests that
 * start several instances; it is used only when it is current, so a test
 * never runs older code than the sources.
 */
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

const fromDist = distIsCurrent();
const tsxLoader = join(ROOT, 'node_modules/tsx/dist/loader.mjs');

/** Arguments to `node` (before the CLI's own) that run Vigil's CLI: dist/cli.js when current, else src/cli.ts through tsx. */
export const vigilCli: readonly string[] = fromDist ? [join(ROOT, 'dist/cli.js')] : ['--import', tsxLoader, join(ROOT, 'src/cli.ts')];

/** Arguments to `node` for a plain-JavaScript child that imports vigilModule()s: none with the build, the tsx loader with the sources. */
export const childNodeArgs: readonly string[] = fromDist ? [] : ['--import', tsxLoader];

/** File URL of one of Vigil's modules (`tsdb/index`, say) for such a child: from dist/ when current, else from src/. */
export function vigilModule(rel: string): string {
  return pathToFileURL(join(ROOT, fromDist ? `dist/${rel}.js` : `src/${rel}.ts`)).href;
}
