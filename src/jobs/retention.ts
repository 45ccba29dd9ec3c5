import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import type { RetentionConfig } from '../config/jobs.js';
import type { JobDefinition } from './types.js';
import { compileRegex, type Regex } from '../model/regex.js';
import { lazyRequire } from '../util/lazy-require.js';

const elasticsearch = lazyRequire<typeof import('@elastic/elasticsearch')>('@elastic/elasticsearch');

/** `*` and `?` globs over a file name (no directories). */
export function globToRegExp(glob: string): Regex {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return compileRegex(body);
}

/** Deletes matching files older than maxAgeMs in one directory, keeping the newest one. */
export async function pruneDirectory(dir: string, pattern: string, maxAgeMs: number, now = Date.now()): Promise<string[]> {
  const re = globToRegExp(pattern);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  const files: Array<{ path: string; mtime: number }> = [];
  for (const n of names) {
    if (!re.test(n)) continue;
    const path = join(dir, n);
    const st = await fsp.stat(path).catch(() => undefined);
    if (st?.isFile()) files.push({ path, mtime: st.mtimeMs });
  }
  files.sort((a, b) => b.mtime - a.mtime);
  const deleted: string[] = [];
  for (const f of files.slice(1)) {
    if (now - f.mtime > maxAgeMs) {
      await fsp.rm(f.path, { force: true });
      deleted.push(f.path);
    }
  }
  return deleted;
}

/**
 * Deletes plain indices older than maxAgeMs. Data stream backing indices are
 * left to their ILM policy.
 */
export async function pruneIndices(client: Client, pattern: string, maxAgeMs: number, now = Date.now()): Promise<string[]> {
  const rows = (await client.cat.indices({ index: pattern, format: 'json', h: ['index', 'creation.date'], expand_wildcards: ['open', 'closed'] })) as unknown as Array<{ index?: string; 'creation.date'?: string }>;
  const doomed = rows
    .filter((r) => r.index && !r.index.startsWith('.ds-') && now - Number(r['creation.date']) > maxAgeMs)
    .map((r) => r.index!);
  for (const index of doomed) await client.indices.delete({ index });
  return doomed;
}

export function retentionJob(name: string, cfg: RetentionConfig, baseDir: string): JobDefinition {
  return {
    name,
    kind: 'retention',
    schedule: cfg.schedule,
    timezone: cfg.timezone,
    catchUp: cfg.catch_up,
    timeoutMs: cfg.timeout,
    async run(ctx) {
      let files = 0;
      for (const p of cfg.paths) files += (await pruneDirectory(resolve(baseDir, p.directory), p.pattern, p.max_age)).length;
      let indices = 0;
      if (cfg.elasticsearch) {
        const es = new (elasticsearch().Client)({
          node: cfg.elasticsearch.url,
          auth: cfg.elasticsearch.api_key ? { apiKey: cfg.elasticsearch.api_key } : undefined,
          requestTimeout: 30_000,
        });
        try {
          indices = (await pruneIndices(es, cfg.elasticsearch.index_pattern, cfg.elasticsearch.max_age)).length;
        } finally {
          await es.close();
        }
      }
      ctx.record({ deleted_files: files, deleted_indices: indices });
      return `deleted ${files} file(s) and ${indices} index(es)`;
    },
  };
}
