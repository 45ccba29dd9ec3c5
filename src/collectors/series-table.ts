/**
 * Hash table from a 32-bit series hash to the chain of series with that hash
 * (open addressing over typed arrays). A 100k-series exposition does one
 * lookup and one insert per series; this is several times cheaper than a Map
 * there and sweeps without allocating per entry.
 */
export interface Chained<E> {
  hash: number;
  next: E | undefined;
}

export class SeriesTable<E extends Chained<E>> {
  private keys: Int32Array;
  private heads: Array<E | undefined>;
  private mask: number;
  private used = 0;
  /** Entries in all chains. */
  count = 0;

  constructor(bits = 10) {
    this.keys = new Int32Array(1 << bits);
    this.heads = new Array<E | undefined>(1 << bits).fill(undefined);
    this.mask = (1 << bits) - 1;
  }

  /** Head of the chain for `hash`. */
  get(hash: number): E | undefined {
    // Probing only the key array (0 marks a free slot) costs one cache miss for
    // a new series instead of two.
    const key = hash === 0 ? 1 : hash;
    const mask = this.mask;
    const keys = this.keys;
    let k = (key ^ (key >>> 15)) & mask;
    while (true) {
      const kk = keys[k];
      if (kk === key) return this.heads[k];
      if (kk === 0) return undefined;
      k = (k + 1) & mask;
    }
  }

  /** Adds `e` in front of the chain of its hash. */
  add(e: E): void {
    const key = e.hash === 0 ? 1 : e.hash;
    const mask = this.mask;
    let k = (key ^ (key >>> 15)) & mask;
    while (true) {
      const kk = this.keys[k];
      if (kk === 0) break;
      if (kk === key) {
        const head = this.heads[k];
        e.next = head;
        this.heads[k] = e;
        this.count++;
        return;
      }
      k = (k + 1) & mask;
    }
    e.next = undefined;
    this.keys[k] = key;
    this.heads[k] = e;
    this.count++;
    if (++this.used * 2 > mask) this.rebuild(this.heads.length * 2, () => true);
  }

  /** Keeps only the entries for which `keep` holds. */
  retain(keep: (e: E) => boolean): void {
    let size = this.heads.length;
    while (size > 1024 && this.count * 4 < size) size >>= 1;
    this.rebuild(size, keep);
  }

  private rebuild(size: number, keep: (e: E) => boolean): void {
    const old = this.heads;
    this.keys = new Int32Array(size);
    this.heads = new Array<E | undefined>(size).fill(undefined);
    this.mask = size - 1;
    this.used = 0;
    this.count = 0;
    for (const head of old) {
      for (let e = head; e !== undefined; ) {
        const next: E | undefined = e.next;
        if (keep(e)) this.add(e);
        e = next;
      }
    }
  }
}
