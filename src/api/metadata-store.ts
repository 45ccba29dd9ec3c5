/**
 * TYPE/HELP/UNIT per target as last scraped, for /api/v1/metadata and
 * /api/v1/targets/metadata. The scrape loop hands each target's parsed
 * metadata over through `ScrapeHooks.onMetadata`; entries are bounded per
 * target so a hostile exposition cannot grow memory without limit.
 */
import { labelsKey } from '../model/labels.js';
import type { Labels } from '../tsdb/types.js';

export interface MetricMetadata {
  type: string;
  help: string;
  unit: string;
}

export interface MetadataEntry extends MetricMetadata {
  metric: string;
}

interface TargetMetadata {
  labels: Labels;
  entries: Map<string, MetricMetadata>;
}

export class MetadataStore {
  private readonly targets = new Map<string, TargetMetadata>();
  /** The same entries by the target's final labels (what the targets API has). */
  private readonly byLabels = new Map<string, TargetMetadata>();

  constructor(private readonly maxPerTarget = 20_000) {}

  /** Replaces a target's metadata with the latest scrape's (Prometheus keeps the latest too). */
  set(targetKey: string, labels: Labels, entries: Iterable<[string, { type?: string; help?: string; unit?: string }]>): void {
    const prev = this.targets.get(targetKey);
    const map = new Map<string, MetricMetadata>();
    for (const [name, m] of entries) {
      if (map.size >= this.maxPerTarget) break;
      // Prometheus reports the text format's "untyped" as "unknown".
      const type = !m.type || m.type === 'untyped' ? 'unknown' : m.type;
      const old = prev?.entries.get(name);
      const next = { type, help: m.help ?? '', unit: m.unit ?? '' };
      map.set(name, old && old.type === next.type && old.help === next.help && old.unit === next.unit ? old : next);
    }
    const entry = { labels, entries: map };
    if (prev) this.byLabels.delete(labelsKey(prev.labels));
    this.targets.set(targetKey, entry);
    this.byLabels.set(labelsKey(labels), entry);
  }

  drop(targetKey: string): void {
    const prev = this.targets.get(targetKey);
    if (prev) this.byLabels.delete(labelsKey(prev.labels));
    this.targets.delete(targetKey);
  }

  /**
   * metric → distinct metadata across targets, as /api/v1/metadata answers;
   * with `live` (labels keys of current targets), targets since removed are left out.
   */
  byMetric(live?: (labels: Labels) => boolean): Map<string, MetricMetadata[]> {
    const out = new Map<string, MetricMetadata[]>();
    for (const t of this.targets.values()) {
      if (live && !live(t.labels)) continue;
      for (const [name, m] of t.entries) {
        const list = out.get(name);
        if (!list) out.set(name, [m]);
        else if (!list.some((x) => x.type === m.type && x.help === m.help && x.unit === m.unit)) list.push(m);
      }
    }
    return out;
  }

  /** One target's entries (by its final labels), for /api/v1/targets/metadata. */
  forTarget(labels: Labels): MetadataEntry[] {
    const t = this.byLabels.get(labelsKey(labels));
    return t ? [...t.entries].map(([metric, m]) => ({ metric, ...m })) : [];
  }

  /** Per-target entries. */
  *forTargets(): Iterable<{ labels: Labels; entries: Map<string, MetricMetadata> }> {
    yield* this.targets.values();
  }
}
