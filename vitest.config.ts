import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'rules/**/*.test.ts'],
    // The web UI is built once (dist/web) for the tests that serve it.
    globalSetup: ['test/helpers/web-build.ts'],
    // VIGIL_TEST_CPU=<file>: one line of CPU seconds per test file (see the helper).
    setupFiles: process.env.VIGIL_TEST_CPU ? ['test/helpers/cpu-accounting.ts'] : [],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests share one PostgreSQL and one Redis: files run in parallel, but each
    // test file uses its own database / key prefix (see test/helpers/services.ts).
    // Forks, not threads: some tests change the working directory, which a
    // worker thread cannot.
    pool: 'forks',
    // A worker keeps its imported modules from one file to the next: importing
    // src afresh for each file was most of the suite's time. Test files must
    // therefore leave no process-wide state behind (env vars, cwd, listeners,
    // servers); src keeps none at module level beyond caches.
    isolate: false,
    // Four on the 2-core machine: with two, the suite used 1.1 cores (139 s of CPU
    // in 125 s), since many files wait on real time (rule intervals, outages, child
    // processes); four fill those waits (88 s). The load-sensitive end-to-end tests
    // (one-page-per-incident, high-error-rate, backend-outage) allow for that load,
    // but not for other heavy work on the machine beside the suite.
    maxWorkers: 4,
    // Transformed modules kept on disk (node_modules/.experimental-vitest-cache, keyed on each
    // file's content) between runs: a worker's first file otherwise waits seconds for src to be
    // transformed again, and the main process spends that CPU beside the workers.
    experimental: { fsModuleCache: true },
  },
});
