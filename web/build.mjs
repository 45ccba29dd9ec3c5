/**
 * Builds the web UI into dist/web: one hashed script and stylesheet, an HTML
 * shell referencing them, gzip and brotli copies, and manifest.json (the files
 * Vigil serves). Run by `npm run build` (and so at install, via `prepare`).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

export async function buildWeb(outdir = join(here, '..', 'dist', 'web')) {
  const result = await build({
    entryPoints: [join(here, 'src', 'main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2020',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    write: false,
    outdir: 'out',
    legalComments: 'none',
    logLevel: 'warning',
    loader: { '.css': 'css' },
  });
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const files = [];
  const names = {};
  for (const f of result.outputFiles) {
    const ext = f.path.endsWith('.css') ? 'css' : 'js';
    const hash = createHash('sha256').update(f.contents).digest('hex').slice(0, 12);
    const name = `app-${hash}.${ext}`;
    names[ext] = name;
    files.push([name, Buffer.from(f.contents)]);
  }
  const html = readFileSync(join(here, 'index.html'), 'utf8').replace('%CSS%', `/assets/${names.css}`).replace('%JS%', `/assets/${names.js}`);
  files.push(['index.html', Buffer.from(html)]);
  let compressed = 0;
  for (const [name, data] of files) {
    writeFileSync(join(outdir, name), data);
    writeFileSync(join(outdir, `${name}.gz`), gzipSync(data, { level: 9 }));
    const br = brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
    writeFileSync(join(outdir, `${name}.br`), br);
    compressed += br.length;
  }
  writeFileSync(join(outdir, 'manifest.json'), JSON.stringify({ files: files.map(([n]) => n) }, null, 2));
  return { outdir, files: files.map(([n, d]) => ({ name: n, bytes: d.length })), firstLoadBrotliBytes: compressed };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await buildWeb();
  console.log(`web UI built into ${r.outdir}: ${r.files.map((f) => `${f.name} ${f.bytes} B`).join(', ')}; first load ${(r.firstLoadBrotliBytes / 1024).toFixed(1)} KiB (brotli)`);
}
