/**
 * Runs `fn` when `signal` aborts; returns the function that unregisters it.
 * Node's EventTarget scans its listener list on every add and remove, so
 * thousands of waiters on one shutdown signal (sends queued or sleeping
 * between retries) cost O(n^2); here each signal has one listener and the
 * callbacks sit in a Set.
 */
const callbacks = new WeakMap<AbortSignal, Set<() => void>>();

export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    queueMicrotask(fn);
    return () => undefined;
  }
  let set = callbacks.get(signal);
  if (!set) {
    const fresh = new Set<() => void>();
    set = fresh;
    callbacks.set(signal, fresh);
    signal.addEventListener(
      'abort',
      () => {
        for (const f of [...fresh]) f();
        fresh.clear();
      },
      { once: true },
    );
  }
  const s = set;
  s.add(fn);
  return () => s.delete(fn);
}
