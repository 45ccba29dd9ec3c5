import { readFile, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { RawSourceMap, SourceMapConsumer } from 'source-map-js';
import type { Logger } from '../../logger.js';
import { lazyRequire } from '../../util/lazy-require.js';
import type { FaroBody } from './payload.js';

// Loaded by the first source map read: most servers never resolve a frame.
const sourceMaps = lazyRequire<typeof import('source-map-js')>('source-map-js');

const MAX_MAP_BYTES = 32 * 1024 * 1024;
const MAX_CACHED = 50;

/**
 * Resolves minified stack frames through `<file>.map` files in a local
 * directory (Alloy's `sourcemaps { location { path, minified_path_prefix } }`).
 * A frame's URL maps to a file under the directory only: `..` and absolute
 * paths from hostile payloads cannot leave it.
 */
export function createSourceMapResolver(dir: string, urlPrefix: string | undefined, logger: Logger): (body: FaroBody) => Promise<void> {
  const root = resolve(dir);
  const cache = new Map<string, SourceMapConsumer | null>();

  const mapPath = (filename: string): string | undefined => {
    let rel: string;
    if (urlPrefix && filename.startsWith(urlPrefix)) rel = filename.slice(urlPrefix.length);
    else {
      try {
        rel = new URL(filename).pathname;
      } catch {
        return undefined;
      }
    }
    rel = decodeURIComponent(rel.split('?')[0]).replace(/^\/+/, '');
    const p = resolve(root, `${rel}.map`);
    return p.startsWith(root + sep) ? p : undefined;
  };

  const load = async (path: string): Promise<SourceMapConsumer | null> => {
    if (cache.has(path)) return cache.get(path)!;
    let consumer: SourceMapConsumer | null = null;
    try {
      const st = await stat(path);
      if (st.size <= MAX_MAP_BYTES) consumer = new (sourceMaps().SourceMapConsumer)(JSON.parse(await readFile(path, 'utf8')) as RawSourceMap);
    } catch (err) {
      logger.debug({ err: (err as Error).message, path }, 'no usable source map');
    }
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(path, consumer);
    return consumer;
  };

  return async (body) => {
    for (const ex of body.exceptions ?? []) {
      for (const f of ex.stacktrace?.frames ?? []) {
        if (f.lineno === undefined || f.colno === undefined) continue;
        const p = mapPath(f.filename);
        const c = p ? await load(p) : null;
        if (!c) continue;
        // Faro's columns are 1-based, source maps' 0-based.
        const pos = c.originalPositionFor({ line: f.lineno, column: Math.max(0, f.colno - 1) });
        if (pos.source && pos.line) {
          f.filename = pos.source;
          f.lineno = pos.line;
          f.colno = (pos.column ?? 0) + 1;
          if (pos.name) f.function = pos.name;
        }
      }
    }
  };
}
