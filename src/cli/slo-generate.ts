/**
 * `vigil slo generate [FILE|GLOB...] [--out slos/generated] [--check]`: writes the
 * rule file of each SLO file (default `slos/*.yml`) as `<out>/<name>.rules.yml`.
 * With --check nothing is written and the exit code says whether they are current.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { generateSloRuleFiles } from '../alerts/slo/index.js';
import { flagString, parseArgs } from './args.js';

const USAGE = 'usage: vigil slo generate [FILE|GLOB...] [--out DIR] [--check]';

export function outputName(source: string): string {
  return `${basename(source, extname(source))}.rules.yml`;
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, ['check']);
  const unknown = Object.keys(parsed.flags).filter((f) => !['out', 'check'].includes(f));
  if (unknown.length) {
    console.error(`${USAGE}\nunknown flag: --${unknown[0]}`);
    return 2;
  }
  const out = flagString(parsed, 'out', 'slos/generated')!;
  const patterns = parsed.positional.length ? parsed.positional : ['slos/*.yml'];
  const cwd = process.cwd();
  const { files, errors } = generateSloRuleFiles(patterns, cwd);
  if (errors.length) {
    console.error(errors.join('\n'));
    return 1;
  }
  if (files.length === 0) {
    console.error(`no SLO files match ${patterns.join(' ')}`);
    return 1;
  }
  if (parsed.flags.check) {
    const stale: string[] = [];
    for (const f of files) {
      const target = join(out, outputName(f.source));
      const current = await readFile(target, 'utf8').catch(() => undefined);
      if (current !== f.text) stale.push(target);
    }
    if (stale.length) {
      console.error(`generated SLO rules differ from their SLO files (run vigil slo generate):\n${stale.map((p) => `  ${p}`).join('\n')}`);
      return 1;
    }
    console.log(`${files.length} generated SLO rule files are current`);
    return 0;
  }
  await mkdir(out, { recursive: true });
  for (const f of files) {
    const target = join(out, outputName(f.source));
    await writeFile(target, f.text);
    console.log(`wrote ${target}`);
  }
  return 0;
}
