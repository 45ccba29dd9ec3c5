import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/dashboards-build.js';
import { buildProvisioning, DASHBOARDS, UID } from '../../src/dashboards/index.js';

const REPO_PROVISIONING = join(import.meta.dirname, '../../provisioning');

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)));
  }
  return out.sort();
}

describe('dashboards build', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'vigil-dash-'));
    vi.spyOn(console, 'log').mockImplementation(() => {});
    vi.spyOn(console, 'error').mockImplementation(() => {});
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await rm(tmp, { recursive: true, force: true });
  });

  it('is deterministic: two builds are byte-identical', () => {
    expect(buildProvisioning()).toEqual(buildProvisioning());
  });

  it('the committed provisioning/ matches a fresh build (drift check)', async () => {
    expect(await run(['--out', tmp])).toBe(0);
    const fresh = await listFiles(tmp);
    const committed = await listFiles(REPO_PROVISIONING);
    expect(committed).toEqual(fresh);
    for (const f of fresh) {
      const want = await readFile(join(tmp, f), 'utf8');
      const have = await readFile(join(REPO_PROVISIONING, f), 'utf8');
      expect(have, `${f} differs from a fresh build: run \`npm run dashboards:build\``).toBe(want);
    }
  });

  it('--check passes on a fresh build and fails after an edit', async () => {
    expect(await run(['--out', tmp, '--check'])).toBe(0);
    const file = join(tmp, 'dashboards/json/planning-api.json');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"Traffic"', '"Trafic"'));
    expect(await run(['--out', tmp, '--check'])).toBe(1);
    expect(await run(['--out', tmp])).toBe(0);
    expect(await run(['--out', tmp, '--check'])).toBe(0);
  });

  it('rejects unknown flags and a non-URL runbook base', async () => {
    expect(await run(['--bogus'])).toBe(2);
    expect(await run(['--out', tmp, '--runbook-base', 'javascript:alert(1)'])).toBe(2);
    expect(await run(['extra'])).toBe(2);
  });

  it('output carries no timestamps or versions and fixed uids', () => {
    const files = buildProvisioning();
    const uids = new Set<string>();
    for (const f of files.filter((x) => x.path.endsWith('.json'))) {
      const d = JSON.parse(f.content) as Record<string, unknown>;
      expect(d.version).toBeUndefined();
      expect(d.id).toBeNull();
      expect(f.content).not.toMatch(/20\d\d-\d\d-\d\dT/);
      uids.add(String(d.uid));
    }
    expect([...uids].sort()).toEqual(Object.values(UID).sort());
    expect(files.filter((x) => x.path.endsWith('.json'))).toHaveLength(DASHBOARDS.length);
  });

  it('runbook links follow --runbook-base', async () => {
    expect(await run(['--out', tmp, '--runbook-base', 'https://runbooks.example.org/sical/'])).toBe(0);
    const text = await readFile(join(tmp, 'dashboards/json/planning-api.json'), 'utf8');
    expect(text).toContain('https://runbooks.example.org/sical/HighErrorRate.md');
  });
});
