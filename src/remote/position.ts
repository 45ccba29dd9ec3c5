import { readJsonState, writeFileAtomic } from '../util/atomic-file.js';
import type { WalPosition } from './wal-reader.js';

/** A queue's WAL position, kept in a small JSON file so sending resumes after a restart. */
export async function loadPosition(path: string): Promise<WalPosition | undefined> {
  const v = (await readJsonState(path)) as Partial<WalPosition> | undefined;
  if (!v || !Number.isSafeInteger(v.segment) || !Number.isSafeInteger(v.offset) || v.segment! < 0 || v.offset! < 0) return undefined;
  return { segment: v.segment!, offset: v.offset! };
}

export async function savePosition(path: string, p: WalPosition): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(p));
}
