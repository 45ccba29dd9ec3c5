/**
 * http_sd_configs: GET `url` every `refresh_interval`, expecting Prometheus's
 * HTTP SD JSON (a list of target groups, `application/json`). Any failure keeps
 * the previous targets and reports the URL and reason.
 */
import type { HttpSdConfig } from '../config/discovery.js';
import { ConfigError } from '../config/errors.js';
import { parseYamlText } from '../config/yaml-file.js';
import { httpGet, type HttpAuth } from '../collectors/http-client.js';
import { targetGroupListSchema } from './group-schema.js';
import { RefreshDiscoverer } from './refresh.js';
import type { DiscoveryContext, TargetGroup } from './types.js';

export const HTTP_SD_MAX_BYTES = 16 * 1024 * 1024;
const JSON_TYPE = /^application\/json;?/i;

/** `bearer_token(_file)` is the older spelling of `authorization`. */
export function sdAuth(c: HttpSdConfig | (HttpAuth & { bearer_token?: string; bearer_token_file?: string })): HttpAuth {
  const { bearer_token, bearer_token_file, ...rest } = c as HttpAuth & { bearer_token?: string; bearer_token_file?: string };
  if (bearer_token || bearer_token_file) return { ...rest, authorization: { type: 'Bearer', credentials: bearer_token, credentials_file: bearer_token_file } };
  return rest;
}

export function createHttpDiscoverer(cfg: HttpSdConfig, ctx: DiscoveryContext): RefreshDiscoverer {
  const load = async (): Promise<TargetGroup[]> => {
    const res = await httpGet(cfg.url, {
      ...sdAuth(cfg),
      signal: AbortSignal.timeout(Math.min(cfg.refresh_interval, 30_000)),
      bodyLimit: HTTP_SD_MAX_BYTES,
      headers: { accept: 'application/json', 'x-prometheus-refresh-interval-seconds': String(cfg.refresh_interval / 1000) },
    }).catch((err: unknown) => {
      throw new Error(`${cfg.url}: ${(err as Error).message}`);
    });
    if (res.status !== 200) throw new Error(`${cfg.url}: server returned HTTP status ${res.status}`);
    if (!JSON_TYPE.test(res.contentType.trim())) throw new Error(`${cfg.url}: unsupported content type "${res.contentType}"`);
    let list;
    try {
      list = parseYamlText(res.body, cfg.url, targetGroupListSchema, { interpolate: false });
    } catch (err) {
      if (err instanceof ConfigError) throw new Error(err.issues.map((i) => `${cfg.url}: line ${i.line ?? 0}: ${i.path ? `${i.path}: ` : ''}${i.message}`).join('; '));
      throw new Error(`${cfg.url}: ${(err as Error).message}`);
    }
    return list.map((g, i) => ({
      source: `${cfg.url}:${i}`,
      targets: g.targets.map((t) => ({ __address__: t })),
      labels: { ...g.labels, __meta_url: cfg.url },
    }));
  };
  return new RefreshDiscoverer(
    cfg.refresh_interval,
    load,
    (e) => {
      ctx.reportError(e);
      if (e) ctx.logger.warn({ error: e }, 'http_sd: keeping the last targets');
    },
  );
}
