import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS package loaded on first call, synchronously. Clients for
 * optional integrations (Redis, PostgreSQL, Elasticsearch, SMTP, Slack) cost
 * 10–30 MB each once loaded; a server that does not use one never loads it.
 */
export function lazyRequire<T>(name: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= require(name) as T);
}
