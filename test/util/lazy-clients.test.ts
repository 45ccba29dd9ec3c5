import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const OPTIONAL = ['@kubernetes/client-node', '@elastic/elasticsearch', 'ioredis', 'pg', 'nodemailer', '@slack/webhook'];

describe('optional integration clients', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-lazy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are not loaded by the service modules until an integration uses them', async () => {
    // A resolve hook records every package the process loads.
    const log = join(dir, 'packages.txt');
    writeFileSync(log, '');
    const hooks = join(dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      `import { appendFileSync } from 'node:fs';
export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx);
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(r.url);
  if (m) appendFileSync(${JSON.stringify(log)}, m[1] + '\\n');
  return r;
}
`,
    );
    const register = join(dir, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    const main = pathToFileURL(join(root, 'src/main.ts')).href;
    await promisify(execFile)(process.execPath, ['--import', register, '--import', 'tsx', '--input-type=module', '-e', `await import(${JSON.stringify(main)});`], { cwd: root });
    const loaded = new Set(readFileSync(log, 'utf8').split('\n'));
    expect(loaded.has('fastify'), 'the hook saw the service load').toBe(true);
    expect(OPTIONAL.filter((p) => loaded.has(p))).toEqual([]);
  }, 60_000);
});
