/**
 * `vigil dashboards push --url URL [--folder NAME] [--runbook-base URL]`:
 * uploads the dashboards to Grafana. The token comes from GRAFANA_TOKEN only,
 * so it never sits in shell history or process listings.
 */
import { buildDashboards, defaultContext } from '../dashboards/index.js';
import { GrafanaPushError, pushDashboards } from '../dashboards/push.js';
import { flagString, parseArgs } from './args.js';

const USAGE = 'usage: vigil dashboards push --url URL [--folder NAME] [--runbook-base URL]  (token in GRAFANA_TOKEN)';

export async function run(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseArgs(args);
  const unknown = Object.keys(parsed.flags).filter((f) => !['url', 'folder', 'runbook-base'].includes(f));
  const url = flagString(parsed, 'url') ?? env.GRAFANA_URL;
  if (unknown.length || parsed.positional.length || !url) {
    console.error(`${USAGE}${unknown.length ? `\nunknown flag: --${unknown[0]}` : ''}${!url ? '\nmissing --url' : ''}`);
    return 2;
  }
  const ctx = defaultContext();
  const base = flagString(parsed, 'runbook-base');
  if (base !== undefined) ctx.runbookBaseUrl = base;
  try {
    const results = await pushDashboards({
      url,
      token: env.GRAFANA_TOKEN ?? '',
      folder: flagString(parsed, 'folder'),
      dashboards: buildDashboards(ctx),
    });
    for (const r of results) console.log(`pushed ${r.uid}${r.version !== undefined ? ` (version ${r.version})` : ''}${r.url ? ` ${r.url}` : ''}`);
    return 0;
  } catch (err) {
    if (err instanceof GrafanaPushError) {
      console.error(`dashboards push failed: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
