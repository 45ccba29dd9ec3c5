/**
 * Chunk bytes of the head packed into shared slabs. A Uint8Array of its own
 * costs about 600 bytes of memory beyond its contents once it outgrows V8's
 * 64-byte on-heap limit (an ArrayBuffer object, its backing store record, a
 * malloc block): more than a 100k-series head's chunk bytes themselves. Views
 * into a few large buffers cost only the view.
 *
 * Two kinds of space:
 * - `take`/`give` (`alloc`/`release`): open chunks' growing buffers, in size
 *   classes a quarter of a power of two apart, recycled through free lists (a released
 *   view must no longer be used by its owner; queries decode head bytes
 *   synchronously, so none holds one across a release).
 * - `copy`: closed chunks' immutable bytes, packed back to back. They are never
 *   released one by one: a slab is garbage once every chunk in it is gone,
 *   and chunks cut together leave the head together when their block is written.
 *
 * The open chunks of a scraped target grow in step: every series outgrows its
 * class within a few scrapes of the others, so the space they give back fits
 * none of them and would stay idle until their chunks are cut, about as much
 * again as the space in use (100k series: 50 MB idle beside 50 MB in use by
 * the end of a 120-sample chunk). `wasteful` says when idle space passes a
 * quarter of the space in use; the owner of the writers then calls `restart`
 * and moves each into fresh slabs (BitWriter.repack), and the old slabs
 * become garbage.
 */

/** Largest size class; larger buffers get a buffer of their own. */
const MAX_CLASS_BYTES = 4096;
/**
 * 16, 20, 24, 28, 32, 40, ... 4096, a quarter of a power of two apart: a
 * buffer rounded up to its class wastes at most a fifth (with classes twice
 * the last, up to half). More classes cost only more, smaller, growth steps.
 */
const CLASS_SIZES: readonly number[] = (() => {
  const out: number[] = [];
  for (let p = 16; p < MAX_CLASS_BYTES; p *= 2) out.push(p, p + p / 4, p + p / 2, p + (3 * p) / 4);
  out.push(MAX_CLASS_BYTES);
  return out;
})();
const OPEN_SLAB_BYTES = 256 * 1024;
/** Smaller: a slab of closed chunks lives as long as its last chunk. */
const CLOSED_SLAB_BYTES = 64 * 1024;
/** Idle space below this is not worth a repack (a small head never repacks). */
const MIN_WASTE_BYTES = 2 * 1024 * 1024;

function classOf(n: number): number {
  let c = 0;
  while (CLASS_SIZES[c] < n) c++;
  return c;
}

export class ByteSlabs {
  private open = new Uint8Array(0);
  private openUsed = 0;
  private closed = new Uint8Array(0);
  private closedUsed = 0;
  /** Released space per size class, ready for reuse: slab and offset, side by side. */
  private freeSlabs: Uint8Array[][] = [];
  private freeOffsets: number[][] = [];
  /** Bytes handed out by `take` and not given back (own buffers of large requests included). */
  private used = 0;
  /** Bytes of the open slabs neither in use nor left unallocated at the end of the current slab: free lists and slab ends skipped. */
  private idle = 0;
  /** The slab of the space `take` handed out last (see there). */
  slab: Uint8Array = new Uint8Array(0);

  /**
   * Zeroed space of at least `n` bytes, as an offset into `this.slab` (read
   * it right after the call); its length is `sizeFor(n)`. For owners that
   * keep the slab and offset rather than a view of their own (a view is about
   * 100 bytes; a head has one writer per series).
   */
  take(n: number): number {
    if (n > MAX_CLASS_BYTES) {
      this.slab = new Uint8Array(n);
      this.used += n;
      return 0;
    }
    const c = classOf(n);
    const size = CLASS_SIZES[c];
    this.used += size;
    const offs = this.freeOffsets[c];
    if (offs !== undefined && offs.length > 0) {
      const off = offs.pop()!;
      this.slab = this.freeSlabs[c].pop()!;
      this.slab.fill(0, off, off + size);
      this.idle -= size;
      return off;
    }
    if (this.openUsed + size > this.open.length) {
      this.idle += this.open.length - this.openUsed;
      this.open = new Uint8Array(OPEN_SLAB_BYTES);
      this.openUsed = 0;
    }
    const off = this.openUsed;
    this.openUsed += size;
    this.slab = this.open;
    return off;
  }

  /** The length of the space `take(n)` hands out. */
  sizeFor(n: number): number {
    return n > MAX_CLASS_BYTES ? n : CLASS_SIZES[classOf(n)];
  }

  /** Gives back `size` bytes at `off` of `slab`, from `take`; the caller must not touch them again. */
  give(slab: Uint8Array, off: number, size: number): void {
    this.used = Math.max(0, this.used - size);
    if (size > MAX_CLASS_BYTES || size < CLASS_SIZES[0]) return;
    const c = classOf(size);
    if (CLASS_SIZES[c] !== size) return;
    (this.freeSlabs[c] ??= []).push(slab);
    (this.freeOffsets[c] ??= []).push(off);
    this.idle += size;
  }

  /** Whether idle space outweighs a quarter of the space in use (see the top of the file). */
  wasteful(): boolean {
    return this.idle > MIN_WASTE_BYTES && this.idle * 4 > this.used;
  }

  /**
   * Forgets the free lists and the current slab: space is taken from fresh
   * slabs from now on. Every owner of space taken before must move out
   * (BitWriter.repack) without giving its old space back; views of the old
   * slabs stay valid and unchanged, as nothing is handed out from them again.
   */
  restart(): void {
    this.freeSlabs = [];
    this.freeOffsets = [];
    this.open = new Uint8Array(0);
    this.openUsed = 0;
    this.used = 0;
    this.idle = 0;
  }

  /** A zeroed buffer of at least `n` bytes (its length is the size class). */
  alloc(n: number): Uint8Array {
    const off = this.take(n);
    return this.slab.subarray(off, off + this.sizeFor(n));
  }

  /** Gives back a buffer from `alloc`; the caller must not touch it again. */
  release(b: Uint8Array): void {
    this.give(new Uint8Array(b.buffer), b.byteOffset, b.length);
  }

  /** An immutable copy of `src`, packed with other copies. */
  copy(src: Uint8Array): Uint8Array {
    const n = src.length;
    if (n > CLOSED_SLAB_BYTES / 4) return src.slice();
    if (this.closedUsed + n > this.closed.length) {
      this.closed = new Uint8Array(CLOSED_SLAB_BYTES);
      this.closedUsed = 0;
    }
    const view = this.closed.subarray(this.closedUsed, this.closedUsed + n);
    view.set(src);
    this.closedUsed += n;
    return view;
  }
}

/** The process's head chunk space (the store is single-threaded). */
export const chunkSlabs = new ByteSlabs();
