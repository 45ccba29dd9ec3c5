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
    // Files run one after another in each worker and share its imported modules:
    // importing src (the config schema, the whole of main.ts) once per worker
    // instead of once per file. A test file must therefore leave nothing behind:
    // close its servers and child processes, and restore process.env, the working
    // directory and console spies it changes.
    isolate: false,
    // Two: with a third on a loaded 2-core machine the load-sensitive end-to-end
    // tests (one-page-per-incident, high-error-rate, backend-outage) failed.
    maxWorkers: 2,
  },
});
