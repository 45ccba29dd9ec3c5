/**
 * Vitest global setup: builds the web UI into dist/web once before any test
 * file runs, so the files that serve it (UI, HTTP edge) never rebuild the
 * same directory at the same time.
 */
import { buildWeb } from '../../web/build.mjs';

export default async function setup(): Promise<void> {
  await buildWeb();
}
