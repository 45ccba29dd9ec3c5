/** A label set. Keys are label names, including `__name__` for the metric name. */
export type Labels = Readonly<Record<string, string>>;

/** Canonical string key of a label set: names sorted, values escaped. */
export function labelsKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const n of names) key += `${n}\xff${labels[n]}\xfe`;
  return key;
}

/**
 * Hash of a label set that does not depend on the order of its names
 * (FNV-1a per pair, summed). A label with an empty value counts as absent, as
 * in Prometheus, so sets differing only by such labels hash alike.
 */
export function labelsHash(labels: Labels): number {
  let sum = 0;
  for (const n in labels) {
    const v = labels[n];
    if (v === '') continue;
    let h = 0x811c9dc5;
    for (let i = 0; i < n.length; i++) h = Math.imul(h ^ n.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0xff, 0x01000193);
    for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v.charCodeAt(i), 0x01000193);
    sum = (sum + h) | 0;
  }
  return sum;
}
