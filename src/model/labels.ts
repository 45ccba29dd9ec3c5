/** A label set. Keys are label names, including `__name__` for the metric name. */
export type Labels = Readonly<Record<string, string>>;

/** Canonical string key of a label set: names sorted, values escaped. */
export function labelsKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const n of names) key += `${n}\xff${labels[n]}\xfe`;
  return key;
}
