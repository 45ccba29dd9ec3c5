import { cpuTimes } from '../test/helpers/proc-cpu.js';

/**
 * CPU seconds (user + system, all threads) a process has used, from /proc.
 * On a shared machine a process's CPU time per unit of work is a far steadier
 * figure than its wall-clock rate: other load delays it but adds no CPU time to it.
 */
export function cpuSeconds(pid: number): number {
  return cpuTimes(`/proc/${pid}/stat`).self;
}
