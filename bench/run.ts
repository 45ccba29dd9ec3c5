/**
 * `npm run bench [name...]`: runs bench/<name>.bench.ts (all by default) and
 * prints each one's tables. Figures are for the machine it runs on.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTable, type Bench } from './table.js';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.bench\.ts$/, '')))
  .sort();

let failed = 0;
for (const f of files) {
  const mod = (await import(join(here, f))) as { default: Bench };
  console.log(`\n# ${f.replace(/\.bench\.ts$/, '')}\n`);
  try {
    for (const table of await mod.default()) console.log(formatTable(table) + '\n');
  } catch (err) {
    failed++;
    console.error(`benchmark ${f} failed: ${(err as Error).stack ?? err}`);
  }
}
process.exitCode = failed ? 1 : 0;
