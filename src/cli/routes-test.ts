/**
 * `vigil routes test --config FILE label=value...`: prints the receivers an
 * alert with these labels is routed to, comma-separated, exactly as
 * `amtool config routes test` does. Secrets are not needed to route, so unset
 * ${ENV} references are filled with placeholders instead of failing.
 */
import { ConfigError } from '../config/errors.js';
import { loadAlertmanagerConfig } from '../alerts/notify/config.js';
import { parseMatcher } from '../alerts/notify/matchers.js';
import { matchRoutes, routeTree } from '../alerts/notify/route.js';
import { flagString, parseArgs } from './args.js';

const placeholderEnv = new Proxy(process.env, {
  get: (env, k: string) => env[k] ?? `unset://${k}`,
});

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(args);
  const file = flagString(p, 'config') ?? flagString(p, 'config.file');
  if (!file) {
    console.error('usage: vigil routes test --config FILE [--verify.receivers=a,b] [label=value...]');
    return 2;
  }
  const labels: Record<string, string> = {};
  for (const arg of p.positional) {
    let m;
    try {
      m = parseMatcher(arg);
    } catch (err) {
      console.error(`bad label ${JSON.stringify(arg)}: ${(err as Error).message}`);
      return 2;
    }
    if (m.type !== '=') {
      console.error(`bad label ${JSON.stringify(arg)}: labels must be name=value`);
      return 2;
    }
    labels[m.name] = m.value;
  }
  let cfg;
  try {
    cfg = loadAlertmanagerConfig(file, placeholderEnv);
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `cannot load ${file}: ${(err as Error).message}`);
    return 1;
  }
  const receivers = matchRoutes(routeTree(cfg), labels).map((r) => r.opts.receiver);
  const slug = receivers.join(',');
  console.log(slug);
  const expected = flagString(p, 'verify.receivers');
  if (expected !== undefined && expected !== slug) {
    console.error('WARNING: Expected receivers did not match resolved receivers.');
    return 1;
  }
  return 0;
}
