/**
 * `vigil tsdb analyze DIR [--limit N]`: what `promtool tsdb analyze` shows,
 * over all blocks of a data directory: the blocks (span, series, chunks,
 * bytes per sample), then the labels with the most values, the metric names
 * with the most series and the most common label pairs. Read-only.
 */
import { describeLabels } from '../tsdb/errors.js';
import { withReadOnlyStore } from '../tsdb/readonly.js';
import { flagString, parseArgs } from './args.js';

function top(m: Map<string, number>, n: number): Array<[string, number]> {
  return [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n);
}

function span(ms: number): string {
  const h = ms / 3600_000;
  return h >= 48 ? `${(h / 24).toFixed(1)}d` : `${h.toFixed(1)}h`;
}

export async function run(args: string[], print: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const p = parseArgs(args);
  const limit = Number(flagString(p, 'limit', '20'));
  if (p.positional.length !== 1 || !(limit > 0)) {
    console.error('usage: vigil tsdb analyze DIR [--limit N]');
    return 2;
  }
  return withReadOnlyStore(p.positional[0], (store) => {
    const blocks = store.blocks.blocks;
    print('Blocks:');
    let bytes = 0;
    let samples = 0;
    let chunks = 0;
    for (const b of blocks) {
      const s = b.summary;
      bytes += b.bytes;
      samples += s.samples;
      chunks += s.chunks;
      print(
        `  ${b.path}: ${new Date(s.minT).toISOString()} .. ${new Date(s.maxT).toISOString()} (${span(s.maxT - s.minT)}), ${s.series} series, ${s.chunks} chunks, ${s.samples} samples, ${b.bytes} bytes, ${(b.bytes / Math.max(1, s.samples)).toFixed(2)} bytes/sample`,
      );
    }
    print(`Total: ${blocks.length} blocks, ${store.index.size} series (blocks and WAL), ${chunks} chunks, ${samples} samples in blocks, ${(bytes / Math.max(1, samples)).toFixed(2)} bytes/sample, ${(samples / Math.max(1, chunks)).toFixed(1)} samples/chunk`);
    const values = new Map<string, Set<string>>();
    const perName = new Map<string, number>();
    const pairs = new Map<string, number>();
    for (const s of store.index.byRef.values()) {
      for (const [k, v] of Object.entries(s.labels)) {
        let set = values.get(k);
        if (!set) values.set(k, (set = new Set()));
        set.add(v);
        const pair = `${k}=${JSON.stringify(v)}`;
        pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
      }
      const name = s.labels.__name__ ?? describeLabels(s.labels);
      perName.set(name, (perName.get(name) ?? 0) + 1);
    }
    const card = new Map([...values].map(([k, set]) => [k, set.size]));
    print('\nHighest cardinality labels:');
    for (const [k, n] of top(card, limit)) print(`  ${n} ${k}`);
    print('\nHighest cardinality metric names:');
    for (const [k, n] of top(perName, limit)) print(`  ${n} ${k}`);
    print('\nMost common label pairs:');
    for (const [k, n] of top(pairs, limit)) print(`  ${n} ${k}`);
    return 0;
  });
}
