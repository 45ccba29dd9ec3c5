import { compileRegex, expandTemplate, type Regex } from '../../model/regex.js';
import type { Call } from '../ast.js';
import { isValidUtf8 } from '../strings.js';
import type { Sample, SeriesRef } from '../value.js';
import { warnSortInRange } from './misc.js';
import type { FnContext, FunctionTable } from './types.js';

export const DUPLICATE = 'vector cannot contain metrics with the same labelset';

function setLabel(c: FnContext, ref: SeriesRef, name: string, value: string): SeriesRef {
  const labels: Record<string, string> = { ...ref.labels };
  if (value === '') delete labels[name];
  else labels[name] = value;
  return c.refs.get(labels, name === '__name__' ? false : ref.dropName);
}

/** Maps each input series to a new identity (cached per call node), refusing collisions. */
function relabel(c: FnContext, e: Call, t: number, cache: Map<SeriesRef, SeriesRef>, fn: (r: SeriesRef) => SeriesRef): Sample[] {
  const vec = c.vector(e.args[0], t);
  const stamp = c.nextStamp();
  return vec.map((s) => {
    let ref = cache.get(s.ref);
    if (!ref) {
      ref = fn(s.ref);
      cache.set(s.ref, ref);
    }
    if (ref.stamp === stamp) throw c.error(DUPLICATE);
    ref.stamp = stamp;
    return { ...s, ref };
  });
}

function labelReplace(c: FnContext, e: Call, t: number): Sample[] {
  const [dst, repl, src, regex] = e.args.slice(1).map((a) => c.string(a));
  const st = c.state(e, () => {
    let re: Regex;
    try {
      re = compileRegex(regex);
    } catch {
      throw c.error(`invalid regular expression in label_replace(): ${regex}`);
    }
    if (!isValidUtf8(dst) || dst === '') throw c.error(`invalid destination label name in label_replace(): ${dst}`);
    return { re, map: new Map<SeriesRef, SeriesRef>() };
  });
  return relabel(c, e, t, st.map, (ref) => {
    const m = st.re.exec(ref.labels[src] ?? '');
    return m ? setLabel(c, ref, dst, expandTemplate(repl, m)) : ref;
  });
}

function labelJoin(c: FnContext, e: Call, t: number): Sample[] {
  const [dst, sep, ...srcs] = e.args.slice(1).map((a) => c.string(a));
  if (!isValidUtf8(dst) || dst === '') throw c.error(`invalid destination label name in label_join(): ${dst}`);
  const map = c.state(e, () => new Map<SeriesRef, SeriesRef>());
  return relabel(c, e, t, map, (ref) => setLabel(c, ref, dst, srcs.map((s) => ref.labels[s] ?? '').join(sep)));
}

/** Natural ("version") order of strings, for sort_by_label. */
export function naturalLess(a: string, b: string): number {
  const re = /(\d+|\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = BigInt(x);
      const ny = BigInt(y);
      if (nx !== ny) return nx < ny ? -1 : 1;
      return x.length < y.length ? -1 : 1;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

function sortByLabel(sign: 1 | -1) {
  return (c: FnContext, e: Call, t: number): Sample[] => {
    warnSortInRange(c);
    const names = e.args.slice(1).map((a) => c.string(a));
    return c.vector(e.args[0], t).sort((a, b) => {
      for (const n of names) {
        const x = a.ref.labels[n] ?? '';
        const y = b.ref.labels[n] ?? '';
        if (x === y) continue;
        return sign * naturalLess(x, y);
      }
      return sign * (a.ref.key < b.ref.key ? -1 : a.ref.key > b.ref.key ? 1 : 0);
    });
  };
}

export const LABEL_FUNCTIONS: FunctionTable = {
  label_replace: { args: ['vector', 'string', 'string', 'string', 'string'], returns: 'vector', impl: { kind: 'vector', fn: labelReplace } },
  label_join: { args: ['vector', 'string', 'string', 'string'], returns: 'vector', variadic: -1, impl: { kind: 'vector', fn: labelJoin } },
  sort_by_label: { args: ['vector', 'string'], returns: 'vector', variadic: -1, impl: { kind: 'vector', fn: sortByLabel(1) } },
  sort_by_label_desc: { args: ['vector', 'string'], returns: 'vector', variadic: -1, impl: { kind: 'vector', fn: sortByLabel(-1) } },
};
