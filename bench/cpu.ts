import { readFileSync } from 'node:fs';

/**
 * CPU seconds (user + system, all threads) a process has used, from /proc.
 * On a shared machine a process's CPU time per unit of work is a far steadier
 * figure than its wall-clock rate: other load delays it but adds no CPU time to it.
 */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
