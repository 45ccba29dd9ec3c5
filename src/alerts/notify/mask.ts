/**
 * The config as /api/v2/status shows it: Alertmanager's YAML with every secret
 * replaced by `<secret>`, as Alertmanager itself renders it.
 */
import { stringify } from 'yaml';

const SECRET_KEYS = new Set([
  'smtp_auth_password',
  'smtp_auth_secret',
  'slack_api_url',
  'api_url',
  'auth_password',
  'auth_secret',
  'password',
  'credentials',
  'bearer_token',
  'url',
]);

function mask(v: unknown, parentKey = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => mask(x, parentKey));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      // A webhook URL often carries a token, so Alertmanager treats it as secret too.
      if (SECRET_KEYS.has(k) && typeof x === 'string' && x !== '') out[k] = '<secret>';
      else if (k === 'headers' && x && typeof x === 'object') out[k] = mask(x, k);
      else out[k] = mask(x, k);
    }
    return out;
  }
  return v;
}

export function maskedConfigYaml(raw: unknown): string {
  return stringify(mask(raw ?? {}));
}
