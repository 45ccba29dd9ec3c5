import { collectScripts, formatReports, runFiles, unexpectedFailures } from '../promql/testing/runner.js';

/**
 * `vigil test promql PATH...`: runs PromQL test scripts (Prometheus's
 * promqltest format) from files or directories and prints per-file results.
 * Exits 1 when any case fails, 2 on usage errors.
 */
export async function run(args: string[]): Promise<number> {
  const paths = args;
  if (paths.length === 0 || paths.includes('--help') || paths.includes('-h')) {
    console.error('usage: vigil test promql PATH... (test-script files or directories of *.test files)');
    return 2;
  }
  let files: string[];
  try {
    files = await collectScripts(paths);
  } catch (err) {
    console.error(`vigil test promql: ${(err as Error).message}`);
    return 2;
  }
  if (files.length === 0) {
    console.error('vigil test promql: no *.test files found');
    return 2;
  }
  const reports = await runFiles(files);
  console.log(formatReports(reports));
  return unexpectedFailures(reports, new Map()).length > 0 ? 1 : 0;
}
