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
    maxWorkers: 2,
  },
});
