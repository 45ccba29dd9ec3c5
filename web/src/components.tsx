/** Pieces shared by the pages. All text goes through Preact's text nodes: labels and annotations are never parsed as HTML. */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export function Labels({ labels, skip = [] }: { labels: Record<string, string>; skip?: string[] }) {
  return (
    <span class="labels">
      {Object.entries(labels)
        .filter(([k]) => !skip.includes(k))
        .map(([k, v]) => (
          <span class="label" key={k}>
            {k}="{v}"
          </span>
        ))}
    </span>
  );
}

export function Badge({ kind, children }: { kind: string; children: ComponentChildren }) {
  return <span class={`badge badge-${kind}`}>{children}</span>;
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      {error instanceof Error ? error.message : String(error)}
    </div>
  );
}

/** Loads data on mount and whenever `deps` change; re-polls every `pollMs` when set. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], pollMs = 0): { data?: T; error?: unknown; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: unknown }>({});
  const [n, setN] = useState(0);
  useEffect(() => {
    const ac = new AbortController();
    let timer: number | undefined;
    const run = () =>
      load(ac.signal).then(
        (data) => !ac.signal.aborted && setState({ data }),
        (error: unknown) => !ac.signal.aborted && setState((s) => ({ data: s.data, error })),
      );
    void run();
    if (pollMs) timer = window.setInterval(run, pollMs);
    return () => {
      ac.abort();
      clearInterval(timer);
    };
  }, [...deps, n]);
  return { ...state, reload: () => setN((x) => x + 1) };
}

/** Renders the first `step` items and a button for more, so pages with thousands of rows stay fast. */
export function Capped<T>({ items, step = 50, render }: { items: T[]; step?: number; render: (item: T) => ComponentChildren }) {
  const [shown, setShown] = useState(step);
  return (
    <>
      {items.slice(0, shown).map(render)}
      {items.length > shown && (
        <button class="more" onClick={() => setShown((s) => s + step * 10)}>
          show {Math.min(step * 10, items.length - shown)} more of {items.length - shown}
        </button>
      )}
    </>
  );
}
