import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * One process (and one open store within it) per data directory: two writers
 * would interleave WAL segments and corrupt each other. A lock left behind by
 * a killed process (its pid no longer runs) is taken over.
 */
const heldHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireLock(dir: string): () => void {
  const abs = resolve(dir);
  if (heldHere.has(abs)) throw new Error(`data directory ${dir} is already open in this process`);
  const path = join(abs, 'LOCK');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      heldHere.add(abs);
      return () => {
        heldHere.delete(abs);
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let pid = NaN;
      try {
        pid = Number(readFileSync(path, 'utf8').trim());
      } catch {
        // unreadable: treat as stale
      }
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new Error(`data directory ${dir} is in use by process ${pid} (remove ${path} if that is wrong)`);
      }
      try {
        unlinkSync(path);
      } catch {
        // raced with another remover
      }
    }
  }
  throw new Error(`could not lock data directory ${dir}`);
}
