/**
 * Chunk bytes of the head packed into shared slabs. A Uint8Array of its own
 * costs about 600 bytes of memory beyond its contents once it outgrows V8's
 * 64-byte on-heap limit (an ArrayBuffer object, its backing store record, a
 * malloc block): more than a 100k-series head's chunk bytes themselves. Views
 * into a few large buffers cost only the view.
 *
 * Two kinds of space:
 * - `alloc`/`release`: open chunks' growing buffers, in power-of-two size
 *   classes, recycled through free lists (a released view must no longer be
 *   used by its owner; queries decode head bytes synchronously, so none holds
 *   one across a release).
 * - `copy`: closed chunks' immutable bytes, packed back to back. They are never
 *   released one by one: a slab is garbage once every chunk in it is gone,
 *   and chunks cut together leave the head together when their block is written.
 */

/** Smallest and largest size class; larger buffers get a buffer of their own. */
const MIN_CLASS_BYTES = 16;
const MAX_CLASS_BYTES = 4096;
const OPEN_SLAB_BYTES = 256 * 1024;
/** Smaller: a slab of closed chunks lives as long as its last chunk. */
const CLOSED_SLAB_BYTES = 64 * 1024;

function classOf(n: number): number {
  let c = 0;
  let size = MIN_CLASS_BYTES;
  while (size < n) {
    size <<= 1;
    c++;
  }
  return c;
}

export class ByteSlabs {
  private open = new Uint8Array(0);
  private openUsed = 0;
  private closed = new Uint8Array(0);
  private closedUsed = 0;
  /** Released space per size class, ready for reuse: slab and offset, side by side. */
  private readonly freeSlabs: Uint8Array[][] = [];
  private readonly freeOffsets: number[][] = [];
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
      return 0;
    }
    const c = classOf(n);
    const size = MIN_CLASS_BYTES << c;
    const offs = this.freeOffsets[c];
    if (offs !== undefined && offs.length > 0) {
      const off = offs.pop()!;
      this.slab = this.freeSlabs[c].pop()!;
      this.slab.fill(0, off, off + size);
      return off;
    }
    if (this.openUsed + size > this.open.length) {
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
    return n > MAX_CLASS_BYTES ? n : MIN_CLASS_BYTES << classOf(n);
  }

  /** Gives back `size` bytes at `off` of `slab`, from `take`; the caller must not touch them again. */
  give(slab: Uint8Array, off: number, size: number): void {
    if (size > MAX_CLASS_BYTES || size < MIN_CLASS_BYTES || (size & (size - 1)) !== 0) return;
    const c = classOf(size);
    (this.freeSlabs[c] ??= []).push(slab);
    (this.freeOffsets[c] ??= []).push(off);
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
