import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openTsdb } from '../../src/tsdb/index.js';
import { fleetSamples, writeFleet, type FleetSpec } from '../../src/tsdb/testing/fleet.js';

/**
 * Imports a generated backfill file larger than 1 GB and checks the peak RSS.
 * It takes minutes and a few GB of temporary disk, so it runs only with
 * VIGIL_TEST_LARGE=1 (CI sets it in the nightly run).
 */
const enabled = process.env.VIGIL_TEST_LARGE === '1';
if (!enabled) console.warn('SKIPPED test/tsdb/import-large.test.ts: set VIGIL_TEST_LARGE=1 to import a >1 GB file (takes minutes)');
const root = mkdtempSync(join(tmpdir(), 'vigil-import-large-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('vigil tsdb import of a file larger than 1 GB', () => {
  it.runIf(enabled)(
    'imports every sample with peak RSS under 300 MB',
    async () => {
      const spec: FleetSpec = { instances: 20, endpoints: 10, start: 1_700_000_000_000, durationMs: 22 * 3600_000, intervalMs: 15_000 };
      const file = join(root, 'fleet.om');
      writeFleet(file, spec);
      expect(statSync(file).size).toBeGreaterThan(1024 ** 3);
      const dir = join(root, 'data');
      const out = execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/import-rss.ts'), file, dir], {
        cwd: join(import.meta.dirname, '../..'),
        encoding: 'utf8',
        maxBuffer: 16 << 20,
      });
      rmSync(file);
      const m = /exit (\d+) maxrss (\d+)/.exec(out)!;
      expect(Number(m[1])).toBe(0);
      const rss = Number(m[2]);
      console.log(`import of >1 GB: peak RSS ${(rss / 1024 ** 2).toFixed(0)} MB`);
      expect(rss).toBeLessThan(300 * 1024 ** 2);
      const db = await openTsdb({ dir, retentionMs: 3650 * 24 * 3600_000 });
      expect(db.stats().samples).toBe(fleetSamples(spec));
      await db.close();
    },
    1_800_000,
  );
});
