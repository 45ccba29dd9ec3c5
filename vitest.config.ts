import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'rules/**/*.test.ts'],
    // The web UI is built once (dist/web) for the tests that serve it.
    globalSetup: ['test/helpers/web-build.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests share one PostgreSQL and one Redis: files run in parallel, but each
    // test file uses its own database / key prefix (see test/helpers/services.ts).
    pool: 'forks',
    // Each file imports src afresh (isolate, the default): sharing a worker's
    // modules between files (isolate: false) cut import time by four fifths but
    // made the deep-nesting parser test overflow the stack instead of failing
    // cleanly in one whole-suite run.
    // Two: with a third on a loaded 2-core machine the load-sensitive end-to-end
    // tests (one-page-per-incident, high-error-rate, backend-outage) failed.
    maxWorkers: 2,
  },
});
