/**
 * promtool (Debian's prometheus package) as the oracle: `vigil check rules`
 * and `vigil test rules` must give the same verdicts, and the same failure
 * text where the formats are promtool's. Each test runs promtool and Vigil
 * side by side, and the tests run at once: every one only reads files
 * (the working directory they set is the same root).
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { checkRuleFiles } from '../../../src/alerts/rules/check.js';
import { runRuleTests } from '../../../src/alerts/rules/unittest.js';
import { requireBinary } from '../../helpers/services.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const promtool = requireBinary('promtool', 'prometheus');

/** Runs promtool beside the test process, so Vigil's own run goes on meanwhile; never rejects. */
function runPromtool(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(promtool!, args, { cwd: root, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

async function vigilTest(files: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runRuleTests(files, (s) => out.push(s), (s) => err.push(s));
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

function vigilCheck(files: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const { code } = checkRuleFiles(files, (s) => out.push(s), (s) => err.push(s));
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

const shippedRules = readdirSync(join(root, 'rules')).filter((f) => f.endsWith('.yml')).map((f) => `rules/${f}`);
const shippedTests = readdirSync(join(root, 'rules/tests')).filter((f) => f.endsWith('.test.yml')).map((f) => `rules/tests/${f}`);
const fixture = (f: string) => `test/alerts/rules/fixtures/${f}`;

describe.skipIf(!promtool)('against promtool', { concurrent: true }, () => {
  it('check rules: the shipped rule files pass both', async ({ expect }) => {
    const promtoolRun = runPromtool(['check', 'rules', ...shippedRules]);
    process.chdir(root);
    const v = vigilCheck(shippedRules);
    const p = await promtoolRun;
    expect(p.code, p.stderr).toBe(0);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(p.stdout.trim());
  });

  it('test rules: the shipped unit tests pass both', async ({ expect }) => {
    const promtoolRun = runPromtool(['test', 'rules', ...shippedTests]);
    process.chdir(root);
    const v = await vigilTest(shippedTests);
    const p = await promtoolRun;
    expect(p.code, p.stdout + p.stderr).toBe(0);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(p.stdout.trim());
  });

  for (const f of ['failing.test.yml', 'failing-annotation.test.yml']) {
    it(`test rules: ${f} fails both with the same report`, async ({ expect }) => {
      const promtoolRun = runPromtool(['test', 'rules', fixture(f)]);
      process.chdir(root);
      const v = await vigilTest([fixture(f)]);
      const p = await promtoolRun;
      expect(p.code).toBe(1);
      expect(v.code).toBe(1);
      expect(v.stderr.trim()).toBe(p.stderr.trim());
    });
  }

  for (const f of ['bad-rules.yml', 'bad-yaml.yml']) {
    it(`check rules: ${f} is rejected by both`, async ({ expect }) => {
      const promtoolRun = runPromtool(['check', 'rules', fixture(f)]);
      process.chdir(root);
      const v = vigilCheck([fixture(f)]);
      const p = await promtoolRun;
      expect(p.code).toBe(1);
      expect(v.code).toBe(1);
      expect(v.stderr).toContain('FAILED');
    });
  }
});
