/**
 * Vigil's version (package.json) and the API versions it speaks. Clients gate
 * on the version they think they talk to: amtool warns unless major.minor equal
 * its own, Grafana enables features by Prometheus version. So the APIs report
 * the compatibility level, with Vigil's own version as semver build metadata.
 */
import { readFileSync } from 'node:fs';

function packageVersion(): string {
  try {
    // src/version.ts and dist/version.js both sit one level below package.json.
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export const VIGIL_VERSION = packageVersion();

/** The Alertmanager v2 API level implemented (that of Debian's amtool, 0.25). */
export const ALERTMANAGER_API_LEVEL = '0.25.0';
/** The Prometheus HTTP API level implemented. */
export const PROMETHEUS_API_LEVEL = '3.0.0';

export const alertmanagerApiVersion = `${ALERTMANAGER_API_LEVEL}+vigil.${VIGIL_VERSION}`;
export const prometheusApiVersion = `${PROMETHEUS_API_LEVEL}+vigil.${VIGIL_VERSION}`;
