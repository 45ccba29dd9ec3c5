/**
 * Starts a node process for a test (a Vigil, a pipeline child) that exits with
 * the test process: exit-with-parent.mjs is preloaded and the child's stdin is
 * a pipe from this process. Should this process go away without stopping the
 * child (killed, its run interrupted), the pipe closes and the child exits,
 * instead of running on and scraping or answering on ports that a later run
 * may be given.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const EXIT_WITH_PARENT = new URL('./exit-with-parent.mjs', import.meta.url).href;

type Output = 'pipe' | 'ignore' | 'inherit' | number;

/** `node ...args`; stdout and stderr as given (default ignored), stdin taken by the tie. */
export function spawnTied(args: readonly string[], opts: Omit<SpawnOptions, 'stdio'> & { stdout?: Output; stderr?: Output } = {}): ChildProcess {
  const { stdout = 'ignore', stderr = 'ignore', ...rest } = opts;
  return spawn(process.execPath, ['--import', EXIT_WITH_PARENT, ...args], { ...rest, stdio: ['pipe', stdout, stderr] });
}
