/**
 * Hash table from a 32-bit series hash to values (open addressing over typed
 * arrays; values with equal hashes sit in consecutive probe slots, so no chain
 * objects). A 100k-series exposition does one lookup and one insert per
 * series: several times cheaper than a Map there, and probing touches only the
 * key array until a key matches.
 */
export class SeriesTable<V> {
  private keys: Int32Array;
  private vals: Array<V | undefined>;
  private mask: number;
  /** Values stored. */
  count = 0;

  constructor(bits = 10) {
    this.keys = new Int32Array(1 << bits);
    this.vals = new Array<V | undefined>(1 << bits).fill(undefined);
    this.mask = (1 << bits) - 1;
  }

  /** First slot holding `hash`, or -1. Iterate with `next`, read with `at`. */
  first(hash: number): number {
    const key = hash === 0 ? 1 : hash; // 0 marks a free slot
    const keys = this.keys;
    const mask = this.mask;
    let k = (key ^ (key >>> 15)) & mask;
    while (true) {
      const kk = keys[k];
      if (kk === key) return k;
      if (kk === 0) return -1;
      k = (k + 1) & mask;
    }
  }

  /** The next slot after `slot` holding `hash`, or -1. */
  next(slot: number, hash: number): number {
    const key = hash === 0 ? 1 : hash;
    const keys = this.keys;
    const mask = this.mask;
    let k = (slot + 1) & mask;
    while (true) {
      const kk = keys[k];
      if (kk === key) return k;
      if (kk === 0) return -1;
      k = (k + 1) & mask;
    }
  }

  at(slot: number): V {
    return this.vals[slot] as V;
  }

  add(hash: number, v: V): void {
    const key = hash === 0 ? 1 : hash;
    const keys = this.keys;
    const mask = this.mask;
    let k = (key ^ (key >>> 15)) & mask;
    while (keys[k] !== 0) k = (k + 1) & mask;
    keys[k] = key;
    this.vals[k] = v;
    if (++this.count * 2 > mask) this.rebuild(this.vals.length * 2, () => true);
  }

  /** Keeps only the values for which `keep` holds. */
  retain(keep: (v: V) => boolean): void {
    let size = this.vals.length;
    while (size > 1024 && this.count * 4 < size) size >>= 1;
    this.rebuild(size, keep);
  }

  private rebuild(size: number, keep: (v: V) => boolean): void {
    const oldK = this.keys;
    const oldV = this.vals;
    this.keys = new Int32Array(size);
    this.vals = new Array<V | undefined>(size).fill(undefined);
    this.mask = size - 1;
    this.count = 0;
    for (let j = 0; j < oldK.length; j++) {
      if (oldK[j] === 0) continue;
      const v = oldV[j] as V;
      if (keep(v)) this.add(oldK[j], v);
    }
  }
}
