/**
 * How a test runs Vigil's CLI as a process of its own. The build in dist/
 * starts in about half the time of the sources through tsx (its scrape
 * threads too, each loading the code again), which counts for tests that
 * start several instances; it is used only when it is current, so a test
 * never runs older code than the sources.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Whether dist/ holds a build at least as new as every source file (`npm ci` and `npm run build` make one). */
function distIsCurrent(rel = ''): boolean {
  return readdirSync(join(ROOT, 'src', rel), { withFileTypes: true }).every((e) => {
    const r = join(rel, e.name);
    if (e.isDirectory()) return distIsCurrent(r);
    if (!e.name.endsWith('.ts') || e.name.endsWith('.d.ts')) return true;
    const out = join(ROOT, 'dist', r.replace(/\.ts$/, '.js'));
    return existsSync(out) && statSync(out).mtimeMs >= statSync(join(ROOT, 'src', r)).mtimeMs;
  });
}

/** Arguments to `node` (before the CLI's own) that run Vigil's CLI: dist/cli.js when current, else src/cli.ts through tsx. */
export const vigilCli: readonly string[] = distIsCurrent()
  ? [join(ROOT, 'dist/cli.js')]
  : ['--import', join(ROOT, 'node_modules/tsx/dist/loader.mjs'), join(ROOT, 'src/cli.ts')];
