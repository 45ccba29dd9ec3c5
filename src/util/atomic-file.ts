import { closeSync, fsyncSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { open, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes a file so a crash leaves either the old or the new content, never a
 * torn one: temp file flushed to disk, renamed over, then the directory synced
 * so the rename itself survives a power cut. `syncDir: false` leaves out the
 * last step, for files written often where the old content after a power cut
 * does no harm (a progress mark that only makes work be done again).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: { syncDir?: boolean } = {}): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, data, { flush: true });
  await rename(tmp, path);
  if (opts.syncDir === false) return;
  // On the thread pool: a synchronous fsync would hold the event loop for as long as the disk takes.
  try {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // As in fsyncDir: some filesystems refuse fsync on directories.
  }
}

/** writeFileAtomic for callers that must not yield (the TSDB's WAL and block writers). */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, data, { flush: true });
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still ordered.
  }
}

/** Reads a JSON state file; a missing or corrupt one yields undefined (start fresh, never crash). */
export async function readJsonState(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}
