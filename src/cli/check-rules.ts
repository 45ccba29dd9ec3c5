/**
 * `vigil check rules [--against-storage [--data DIR | --server URL]] FILE...`:
 * promtool-compatible validation; with --against-storage, also flags selectors
 * that match no series Vigil has ever stored.
 */
import { checkRuleFiles, lintAgainstStorage, querierExists, type SeriesExists } from '../alerts/rules/check.js';
import { flagString, parseArgs } from './args.js';

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(args, ['against-storage']);
  if (p.positional.length === 0) {
    console.error('usage: vigil check rules [--against-storage [--data DIR | --server URL]] FILE...');
    return 2;
  }
  const out = (s: string) => process.stdout.write(s + '\n');
  const err = (s: string) => process.stderr.write(s + '\n');
  const { code, groups } = checkRuleFiles(p.positional, out, err);
  if (!p.flags['against-storage']) return code;
  const server = flagString(p, 'server');
  let exists: SeriesExists;
  let close = async () => {};
  if (server) {
    exists = async (ms) => {
      const sel = `{${ms.map((m) => `${JSON.stringify(m.name)}${m.type}${JSON.stringify(m.value)}`).join(',')}}`;
      const url = new URL('/api/v1/series', server);
      url.searchParams.set('match[]', sel);
      url.searchParams.set('start', '0');
      const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      if (!res.ok) throw new Error(`${url.origin}: HTTP ${res.status}`);
      const body = (await res.json()) as { data?: unknown[] };
      return (body.data?.length ?? 0) > 0;
    };
  } else {
    // A running Vigil holds the data directory's lock; use --server URL then.
    const { openTsdb } = await import('../tsdb/index.js');
    const db = await openTsdb({ dir: flagString(p, 'data', 'data') as string, retentionMs: 100 * 365 * 86_400_000 });
    exists = querierExists(db.querier());
    close = () => db.close();
  }
  try {
    const problems = await lintAgainstStorage(groups, exists);
    if (problems.length) {
      err('  UNKNOWN SERIES:');
      for (const pr of problems) err(pr);
      return 1;
    }
    out('  SUCCESS: every selector matches stored series');
    return code;
  } catch (e) {
    err(`cannot check against storage: ${(e as Error).message}`);
    return 1;
  } finally {
    await close();
  }
}
