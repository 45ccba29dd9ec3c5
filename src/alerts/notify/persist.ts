/**
 * A JSON snapshot file written atomically (temp file, fsync, rename), with
 * writes coalesced: callers await the write that includes their change, and a
 * burst of changes costs one write, not one each.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { dirname } from 'node:path';

export class JsonFile<T> {
  private writing: Promise<void> | undefined;
  private pending: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly snapshot: () => T,
  ) {
    mkdirSync(dirname(path), { recursive: true });
  }

  /** Reads the file; a missing file is `undefined`, a corrupt one throws with the path. */
  read(): T | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new Error(`${this.path}: corrupt state file: ${(err as Error).message}`);
    }
  }

  /** Resolves once a snapshot taken after this call is on disk. */
  save(): Promise<void> {
    if (this.pending) return this.pending;
    const after = this.writing ?? Promise.resolve();
    this.pending = after.then(() => {
      this.pending = undefined;
      this.writing = this.writeNow().finally(() => {
        this.writing = undefined;
      });
      return this.writing;
    });
    return this.pending;
  }

  private async writeNow(): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify(this.snapshot()));
  }
}
