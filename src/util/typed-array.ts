/** Typed arrays that stand in for growable columns (sample buffers, scan scratch). */
export type Column = Float64Array | Int32Array | Uint8Array;

/** A copy of `a` with room for `length` elements; the contents come along. */
export function grown<T extends Column>(a: T, length: number): T {
  const out = new (a.constructor as new (n: number) => T)(length);
  out.set(a);
  return out;
}
