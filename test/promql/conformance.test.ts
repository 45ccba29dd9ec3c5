import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectScripts, formatReports, runFiles, unexpectedFailures } from '../../src/promql/testing/runner.js';
import { KNOWN_FAILURES } from '../../src/promql/testing/known-failures.js';
import { requireOrSkip } from '../helpers/services.js';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const dir = resolve(repoRoot, '../shared/conformance/promql');

// A clone without ../shared skips loudly; under VIGIL_TEST_STRICT (CI) it fails.
const present = requireOrSkip('the PromQL conformance data', existsSync(dir), `expected at ${dir}`);

describe.skipIf(!present)('PromQL conformance (Prometheus test scripts)', () => {
  it('passes every case not listed as a known failure, and at least 95% per file', { timeout: 300_000 }, async () => {
    const reports = await runFiles(await collectScripts([dir]));
    console.log(formatReports(reports, KNOWN_FAILURES));
    expect(reports.length).toBeGreaterThan(0);
    const unexpected = unexpectedFailures(reports, KNOWN_FAILURES);
    expect(unexpected.map((c) => `${c.file}:${c.line} ${c.expr} -- ${c.reason}`)).toEqual([]);
    for (const r of reports) {
      const ran = r.passed + r.failed;
      if (ran > 0) expect(r.passed / ran, `${r.file} pass rate`).toBeGreaterThanOrEqual(0.95);
    }
  });
});
