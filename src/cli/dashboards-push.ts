/**
 * `vigil dashboards push --url URL [--folder NAME] [--runbook-base URL] [--config FILE]`:
 * uploads the dashboards to Grafana. Flags win over the config's `grafana:`
 * section. The token comes from GRAFANA_TOKEN only, so it never sits in shell
 * history, process listings or config files.
 */
import { ConfigError, loadConfig } from '../config/index.js';
import { buildDashboards, defaultContext } from '../dashboards/index.js';
import { GrafanaPushError, pushDashboards } from '../dashboards/push.js';
import { flagString, parseArgs } from './args.js';

const USAGE = 'usage: vigil dashboards push --url URL [--folder NAME] [--runbook-base URL] [--config FILE]  (token in GRAFANA_TOKEN)';

export async function run(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseArgs(args);
  const unknown = Object.keys(parsed.flags).filter((f) => !['url', 'folder', 'runbook-base', 'config'].includes(f));
  let fromConfig: { url?: string; folder?: string; runbook_base_url?: string } = {};
  const configFile = flagString(parsed, 'config');
  if (configFile) {
    try {
      fromConfig = loadConfig(configFile, { env }).config.grafana;
    } catch (err) {
      console.error(err instanceof ConfigError ? err.message : String(err));
      return 1;
    }
  }
  const url = flagString(parsed, 'url') ?? fromConfig.url ?? env.GRAFANA_URL;
  if (unknown.length || parsed.positional.length || !url) {
    console.error(`${USAGE}${unknown.length ? `\nunknown flag: --${unknown[0]}` : ''}${!url ? '\nmissing --url' : ''}`);
    return 2;
  }
  const ctx = defaultContext();
  const base = flagString(parsed, 'runbook-base') ?? fromConfig.runbook_base_url;
  if (base !== undefined) ctx.runbookBaseUrl = base;
  try {
    const results = await pushDashboards({
      url,
      token: env.GRAFANA_TOKEN ?? '',
      folder: flagString(parsed, 'folder') ?? fromConfig.folder,
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
