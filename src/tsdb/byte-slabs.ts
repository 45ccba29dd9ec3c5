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
  /** Released views per size class, ready for reuse. */
  private readonly free: Uint8Array[][] = [];

  /** A zeroed buffer of at least `n` bytes (its length is the size class). */
  alloc(n: number): Uint8Array {
    if (n > MAX_CLASS_BYTES) return new Uint8Array(n);
    const c = classOf(n);
    const reused = this.free[c]?.pop();
    if (reused !== undefined) return reused.fill(0);
    const size = MIN_CLASS_BYTES << c;
    if (this.openUsed + size > this.open.length) {
      this.open = new Uint8Array(OPEN_SLAB_BYTES);
      this.openUsed = 0;
    }
    const view = this.open.subarray(this.openUsed, this.openUsed + size);
    this.openUsed += size;
    return view;
  }

  /** Gives back a buffer from `alloc`; the caller must not touch it again. */
  release(b: Uint8Array): void {
    const size = b.length;
    if (size > MAX_CLASS_BYTES || size < MIN_CLASS_BYTES || (size & (size - 1)) !== 0) return;
    (this.free[classOf(size)] ??= []).push(b);
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
