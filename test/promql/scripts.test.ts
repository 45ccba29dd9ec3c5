import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collectScripts, formatReports, runFiles } from '../../src/promql/testing/runner.js';

const dir = fileURLToPath(new URL('./scripts', import.meta.url));

describe('PromQL test scripts of this project', () => {
  it('pass with nothing skipped', { timeout: 60_000 }, async () => {
    const reports = await runFiles(await collectScripts([dir]));
    const text = formatReports(reports);
    for (const r of reports) {
      expect(r.failed, text).toBe(0);
      expect(r.skipped, text).toBe(0);
      expect(r.passed).toBeGreaterThan(0);
    }
  });
});
