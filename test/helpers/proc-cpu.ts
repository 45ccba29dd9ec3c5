/**
 * CPU seconds from a /proc stat file (`/proc/<pid>/stat` or a thread's
 * `/proc/<pid>/task/<tid>/stat`): the one parser for the tests' and the
 * benchmarks' CPU figures.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ, the unit of the times in a stat file; 100 on Linux. */
const TICKS_PER_SECOND = 100;

export interface CpuTimes {
  /** User + system time of the process (all its threads) or of the one thread. */
  self: number;
  /** User + system time of the children it has reaped. */
  children: number;
}

export function cpuTimes(statFile: string): CpuTimes {
  const stat = readFileSync(statFile, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces;
  // utime, stime, cutime, cstime are fields 14-17 of the whole line.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return { self: (f[11] + f[12]) / TICKS_PER_SECOND, children: (f[13] + f[14]) / TICKS_PER_SECOND };
}
