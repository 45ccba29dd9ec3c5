/**
 * How a worker thread starts a module: as it is when built (.js), and from
 * TypeScript source (tests, benchmarks, `npm run dev`) as one JavaScript file
 * bundled by esbuild, tsx's own compiler. Node 20 does not apply a parent's
 * loader hooks to a worker's entry file; registering tsx inside every worker
 * instead cost each worker about 300 ms of CPU (a loader-hooks thread and a
 * transform per module), where the bundle loads in about 100. The bundle is
 * made once per process and state of its sources, and kept in
 * node_modules/.cache so that its package imports resolve as the sources'
 * do. Bundles are named by their content, so every edit of the sources
 * leaves one behind: a bundle is touched whenever it is used again, and
 * bundles untouched for a week are deleted. Without esbuild, the worker
 * registers tsx itself.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

type Esbuild = typeof import('esbuild');

interface Bundle {
  file: string;
  /** Every source file in the bundle with its modification time when bundled. */
  inputs: Array<[string, number]>;
}

const bundles = new Map<string, Bundle>();
/** Bundles unused this long are deleted: another checkout's bundles stay while it is in use. */
const BUNDLE_MAX_AGE_MS = 7 * 24 * 3600_000;
let pruned = false;
const require = createRequire(import.meta.url);

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

function loadEsbuild(): Esbuild | undefined {
  try {
    return require('esbuild') as Esbuild;
  } catch {
    return undefined;
  }
}

/** The bundle of the module at `entry`, made again when any of its sources changed; undefined without esbuild. */
function bundle(entry: string): string | undefined {
  const known = bundles.get(entry);
  if (known && known.inputs.every(([path, m]) => mtime(path) === m)) return known.file;
  const esbuild = loadEsbuild();
  if (!esbuild) return undefined;
  const cwd = dirname(entry);
  const out = esbuild.buildSync({
    entryPoints: [entry],
    absWorkingDir: cwd,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const code = out.outputFiles[0].contents;
  const dir = join(dirname(dirname(require.resolve('esbuild/package.json'))), '.cache', 'vigil-workers');
  const file = join(dir, `${basename(entry).replace(/\.[cm]?ts$/, '')}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`);
  if (existsSync(file)) {
    const now = new Date();
    utimesSync(file, now, now);
  } else {
    mkdirSync(dir, { recursive: true });
    // A new file renamed into place: processes bundling at once never read half of one.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, file);
  }
  const inputs = Object.keys(out.metafile.inputs).map((p): [string, number] => {
    const path = resolve(cwd, p);
    return [path, mtime(path)];
  });
  bundles.set(entry, { file, inputs });
  if (!pruned) {
    pruned = true;
    pruneBundles(dir, Date.now());
  }
  return file;
}

/** Deletes the bundles (and stray temporary files) in `dir` last used more than a week before `now`; returns their names. */
export function pruneBundles(dir: string, now: number): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    // Bundles, and the temporary files of writers that died before renaming theirs.
    if (!name.endsWith('.mjs') && !name.endsWith('.tmp')) continue;
    const path = join(dir, name);
    try {
      if (now - statSync(path).mtimeMs > BUNDLE_MAX_AGE_MS) {
        unlinkSync(path);
        removed.push(name);
      }
    } catch {
      // Deleted by another process meanwhile, or not ours to delete: either way not in the way.
    }
  }
  return removed;
}

/** Worker constructor arguments that run the module at `url`. */
export function workerEntry(url: URL): [string | URL, { eval?: boolean }] {
  if (!url.pathname.endsWith('.ts')) return [url, {}];
  try {
    const file = bundle(fileURLToPath(url));
    if (file) return [pathToFileURL(file), {}];
  } catch {
    // A source esbuild cannot bundle: tsx in the worker reports it as it loads.
  }
  // The package's ESM entry of the loader API, found from its package.json (require.resolve would give the CommonJS one).
  const api = pathToFileURL(join(dirname(require.resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  return [`import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`, { eval: true }];
}
