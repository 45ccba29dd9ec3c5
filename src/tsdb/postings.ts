import { matcherPredicate } from '../model/matchers.js';
import type { Labels, Matcher } from './types.js';

/**
 * Inverted index: for every label pair the sorted list of series refs carrying
 * it. Refs are handed out in increasing order, so appending keeps lists sorted.
 * Equality matchers intersect postings lists; regex matchers union the lists of
 * the values they match (scanning the label's values, not the series); matchers
 * that also match the empty string (`!=`, `=~".*"`, `=""`) cannot narrow by
 * postings and filter the candidates instead.
 */
export class PostingsIndex {
  private readonly byName = new Map<string, Map<string, number[]>>();
  private all: number[] = [];

  add(ref: number, labels: Labels): void {
    this.all.push(ref);
    for (const name in labels) {
      let values = this.byName.get(name);
      if (!values) this.byName.set(name, (values = new Map()));
      const list = values.get(labels[name]);
      if (list) list.push(ref);
      else values.set(labels[name], [ref]);
    }
  }

  /** Removes many series at once (retention): one pass over the lists they appear in. */
  remove(refs: ReadonlySet<number>, labelsOf: (ref: number) => Labels): void {
    if (refs.size === 0) return;
    const touched = new Set<number[]>();
    for (const ref of refs) {
      for (const [name, value] of Object.entries(labelsOf(ref))) {
        const list = this.byName.get(name)?.get(value);
        if (list) touched.add(list);
      }
    }
    const keep = (list: number[]) => list.filter((r) => !refs.has(r));
    for (const [name, values] of this.byName) {
      for (const [value, list] of values) {
        if (!touched.has(list)) continue;
        const next = keep(list);
        if (next.length) values.set(value, next);
        else values.delete(value);
      }
      if (values.size === 0) this.byName.delete(name);
    }
    this.all = keep(this.all);
  }

  labelNames(): string[] {
    return [...this.byName.keys()];
  }

  /** Refs of the series matching every matcher, ascending. The result may be the index's own list: read it, never change it. */
  select(matchers: readonly Matcher[], labelsOf: (ref: number) => Labels): readonly number[] {
    const lists: number[][] = [];
    const filters: Matcher[] = [];
    for (const m of matchers) {
      const pred = matcherPredicate(m);
      if (pred('')) {
        filters.push(m);
        continue;
      }
      const values = this.byName.get(m.name);
      if (!values) return [];
      if (m.type === '=') {
        const list = values.get(m.value);
        if (!list) return [];
        lists.push(list);
        continue;
      }
      const parts: number[][] = [];
      let total = 0;
      for (const [value, list] of values) {
        if (pred(value)) {
          parts.push(list);
          total += list.length;
        }
      }
      if (parts.length === 0) return [];
      lists.push(parts.length === 1 ? parts[0] : unionDisjoint(parts, total));
    }
    let refs: number[];
    if (lists.length === 0) refs = this.all;
    else {
      lists.sort((a, b) => a.length - b.length);
      refs = lists[0];
      for (let i = 1; i < lists.length && refs.length; i++) refs = intersect(refs, lists[i]);
    }
    if (filters.length === 0) return refs;
    const preds = filters.map((m) => ({ name: m.name, pred: matcherPredicate(m) }));
    return refs.filter((ref) => {
      const labels = labelsOf(ref);
      for (const { name, pred } of preds) if (!pred(labels[name] ?? '')) return false;
      return true;
    });
  }
}

/** Lists of one label's different values never share a series, so a sort suffices. */
function unionDisjoint(parts: number[][], total: number): number[] {
  const out = new Float64Array(total);
  let i = 0;
  for (const p of parts) for (const r of p) out[i++] = r;
  out.sort();
  return Array.from(out);
}

function intersect(small: number[], big: number[]): number[] {
  const out: number[] = [];
  if (small.length * 16 < big.length) {
    // Galloping by binary search when the sizes differ a lot.
    let lo = 0;
    for (const r of small) {
      let hi = big.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (big[mid] < r) lo = mid + 1;
        else hi = mid;
      }
      if (lo < big.length && big[lo] === r) out.push(r);
    }
    return out;
  }
  let i = 0;
  let j = 0;
  while (i < small.length && j < big.length) {
    const a = small[i];
    const b = big[j];
    if (a === b) {
      out.push(a);
      i++;
      j++;
    } else if (a < b) i++;
    else j++;
  }
  return out;
}
