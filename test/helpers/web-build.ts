/**
 * Vitest global setup: builds the web UI into dist/web once before any test
 * file runs, so the files that serve it (UI, HTTP edge) never rebuild the
 * same directory at the same time. A build newer than every input is kept:
 * `npm install` (prepare) has usually just made it, and the brotli pass alone
 * holds up the whole suite for a second or two.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb } from '../../web/build.mjs';
import { newestMtime } from './mtime.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Whether dist/web was built after the last change to what it is built from. */
function webBuildFresh(): boolean {
  const built = newestMtime(join(root, 'dist/web/manifest.json'));
  if (built === 0) return false;
  const inputs = ['web/src', 'web/index.html', 'web/build.mjs', 'package-lock.json', 'node_modules/.package-lock.json'];
  return inputs.every((p) => newestMtime(join(root, p)) < built);
}

export default async function setup(): Promise<void> {
  if (!webBuildFresh()) await buildWeb();
}
