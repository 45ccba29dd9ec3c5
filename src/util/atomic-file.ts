import { open, readFile, rename } from 'node:fs/promises';

/** Writes a small file so a crash leaves either the old or the new content, never a torn one. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** Reads a JSON state file; a missing or corrupt one yields undefined (start fresh, never crash). */
export async function readJsonState(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}
