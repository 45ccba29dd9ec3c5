/**
 * Builds the web UI into dist/web: one hashed script and stylesheet, an HTML
 * shell referencing them, gzip and brotli copies, and manifest.json (the files
 * Vigil serves). Run by `npm run build` (and so at install, via `prepare`).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

export async function buildWeb(outdir = join(here, '..', 'dist', 'web')) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  // The Graph page (CodeMirror, uPlot) is its own chunk, loaded when opened.
  const result = await build({
    entryPoints: { app: join(here, 'src', 'main.tsx') },
    bundle: true,
    splitting: true,
    minify: true,
    format: 'esm',
    target: 'es2020',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    assetNames: '[name]-[hash]',
    publicPath: '/assets',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outputs = Object.entries(result.metafile.outputs).map(([path, meta]) => ({ name: basename(path), meta }));
  const entry = outputs.find((o) => o.meta.entryPoint && o.name.endsWith('.js'));
  const css = outputs.filter((o) => o.name.endsWith('.css'));
  const html = readFileSync(join(here, 'index.html'), 'utf8')
    .replace('%CSS%', css.map((c) => `/assets/${c.name}`)[0] ?? '')
    .replace('%JS%', `/assets/${entry.name}`);
  writeFileSync(join(outdir, 'index.html'), html);
  const names = [...outputs.map((o) => o.name), 'index.html'];
  // First load: the HTML shell, the entry script, what it imports statically, the stylesheet.
  const firstLoad = new Set(['index.html', entry.name, ...css.map((c) => c.name), ...entry.meta.imports.filter((i) => i.kind === 'import-statement').map((i) => basename(i.path))]);
  let firstLoadBrotliBytes = 0;
  const files = [];
  for (const name of names) {
    const data = readFileSync(join(outdir, name));
    writeFileSync(join(outdir, `${name}.gz`), gzipSync(data, { level: 9 }));
    const br = brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
    writeFileSync(join(outdir, `${name}.br`), br);
    if (firstLoad.has(name)) firstLoadBrotliBytes += br.length;
    files.push({ name, bytes: data.length, brotli: br.length });
  }
  writeFileSync(join(outdir, 'manifest.json'), JSON.stringify({ files: names }, null, 2));
  return { outdir, files, firstLoadBrotliBytes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await buildWeb();
  console.log(`web UI built into ${r.outdir}: ${r.files.map((f) => `${f.name} ${f.bytes} B (${f.brotli} B brotli)`).join(', ')}; first load ${(r.firstLoadBrotliBytes / 1024).toFixed(1)} KiB (brotli)`);
}
