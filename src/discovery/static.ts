import type { TargetGroup } from './types.js';

/** `static_configs` as target groups, sources numbered as in Prometheus. */
export function staticGroups(configs: ReadonlyArray<{ targets: readonly string[]; labels: Record<string, string> }>): TargetGroup[] {
  return configs.map((c, i) => ({ source: String(i), targets: c.targets.map((t) => ({ __address__: t })), labels: { ...c.labels } }));
}
