/**
 * promtool (Debian's prometheus package) as the oracle: `vigil check rules`
 * and `vigil test rules` must give the same verdicts, and the same failure
 * text where the formats are promtool's.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkRuleFiles } from '../../../src/alerts/rules/check.js';
import { runRuleTests } from '../../../src/alerts/rules/unittest.js';
import { requireBinary } from '../../helpers/services.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const promtool = requireBinary('promtool', 'prometheus');

function runPromtool(args: string[]): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(promtool!, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { code: err.status, stdout: err.stdout, stderr: err.stderr };
  }
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

describe.skipIf(!promtool)('against promtool', () => {
  it('check rules: the shipped rule files pass both', () => {
    const p = runPromtool(['check', 'rules', ...shippedRules]);
    expect(p.code, p.stderr).toBe(0);
    process.chdir(root);
    const v = vigilCheck(shippedRules);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(p.stdout.trim());
  });

  it('test rules: the shipped unit tests pass both', async () => {
    const p = runPromtool(['test', 'rules', ...shippedTests]);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    process.chdir(root);
    const v = await vigilTest(shippedTests);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(p.stdout.trim());
  });

  for (const f of ['failing.test.yml', 'failing-annotation.test.yml']) {
    it(`test rules: ${f} fails both with the same report`, async () => {
      const p = runPromtool(['test', 'rules', fixture(f)]);
      process.chdir(root);
      const v = await vigilTest([fixture(f)]);
      expect(p.code).toBe(1);
      expect(v.code).toBe(1);
      expect(v.stderr.trim()).toBe(p.stderr.trim());
    });
  }

  for (const f of ['bad-rules.yml', 'bad-yaml.yml']) {
    it(`check rules: ${f} is rejected by both`, () => {
      const p = runPromtool(['check', 'rules', fixture(f)]);
      process.chdir(root);
      const v = vigilCheck([fixture(f)]);
      expect(p.code).toBe(1);
      expect(v.code).toBe(1);
      expect(v.stderr).toContain('FAILED');
    });
  }
});
