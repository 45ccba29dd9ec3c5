/**
 * `vigil dashboards build [--out provisioning] [--runbook-base URL] [--check]`:
 * regenerates the Grafana provisioning files from src/dashboards. With --check
 * nothing is written and the exit code says whether the files are current.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildProvisioning, defaultContext, writeProvisioning } from '../dashboards/index.js';
import { flagString, parseArgs } from './args.js';

export async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args, ['check']);
  const unknown = Object.keys(parsed.flags).filter((f) => !['out', 'runbook-base', 'check'].includes(f));
  if (unknown.length || parsed.positional.length) {
    console.error(`usage: vigil dashboards build [--out DIR] [--runbook-base URL] [--check]${unknown.length ? `\nunknown flag: --${unknown[0]}` : ''}`);
    return 2;
  }
  const out = flagString(parsed, 'out', 'provisioning')!;
  const ctx = defaultContext();
  const base = flagString(parsed, 'runbook-base');
  if (base !== undefined) {
    if (!/^https?:\/\/\S+$/.test(base)) {
      console.error(`--runbook-base must be an http(s) URL, got "${base}"`);
      return 2;
    }
    ctx.runbookBaseUrl = base;
  }
  const files = buildProvisioning(ctx);
  if (parsed.flags.check) {
    const stale: string[] = [];
    for (const f of files) {
      const current = await readFile(join(out, f.path), 'utf8').catch(() => undefined);
      if (current !== f.content) stale.push(f.path);
    }
    if (stale.length) {
      console.error(`provisioning files differ from src/dashboards (run vigil dashboards build):\n${stale.map((p) => `  ${join(out, p)}`).join('\n')}`);
      return 1;
    }
    console.log(`${files.length} provisioning files are current`);
    return 0;
  }
  const changed = await writeProvisioning(out, files);
  console.log(`wrote ${changed.length} of ${files.length} files under ${out}${changed.length ? `:\n${changed.map((p) => `  ${p}`).join('\n')}` : ''}`);
  return 0;
}
