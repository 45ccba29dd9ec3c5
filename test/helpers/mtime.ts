import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Latest modification time of a file, or of anything under a directory; 0 when absent. Tests use it to keep a build newer than its inputs. */
export function newestMtime(path: string): number {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}
