/**
 * Feeds the API's metadata and exemplar stores from what scrapes observed
 * (TYPE/HELP/UNIT and OpenMetrics exemplars, handed over by the collectors).
 */
import type { CollectorsOptions } from '../collectors/index.js';
import type { Labels } from '../tsdb/types.js';
import type { ExemplarStore } from './exemplar-store.js';
import type { MetadataStore } from './metadata-store.js';

export { parseExemplarLine } from '../collectors/exemplar-scan.js';

export function scrapeObserver(metadata: MetadataStore, exemplars: ExemplarStore, now: () => number = Date.now): NonNullable<CollectorsOptions['observer']> {
  return (target, observed) => {
    if (observed.metadata) metadata.set(target.key, target.labels, observed.metadata);
    if (!observed.exemplars?.length) return;
    const t0 = now();
    for (const e of observed.exemplars) {
      const series: Labels = Object.freeze({ ...e.series, ...target.labels });
      exemplars.add({ series, labels: e.labels, value: e.value, t: e.t ?? t0 });
    }
  };
}
