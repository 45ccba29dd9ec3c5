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
    const mask = this.mask;
    let k = (hash ^ (hash >>> 15)) & mask;
    while (true) {
      const e = this.heads[k];
      if (e === undefined || this.keys[k] === hash) return e;
      k = (k + 1) & mask;
    }
  }

  /** Adds `e` in front of the chain of its hash. */
  add(e: E): void {
    const hash = e.hash;
    const mask = this.mask;
    let k = (hash ^ (hash >>> 15)) & mask;
    while (true) {
      const head = this.heads[k];
      if (head === undefined) break;
      if (this.keys[k] === hash) {
        e.next = head;
        this.heads[k] = e;
        this.count++;
        return;
      }
      k = (k + 1) & mask;
    }
    e.next = undefined;
    this.keys[k] = hash;
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
