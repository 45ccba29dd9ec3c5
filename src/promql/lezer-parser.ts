import { createRequire } from 'node:module';
import type { LRParser } from '@lezer/lr';

/**
 * The lezer PromQL parser, loaded on the first parse. Its grammar tables and
 * the lezer runtime are about 1 MB of heap that a Vigil which has neither
 * rules nor queries yet (an agent, a fresh start) need not hold. Loaded
 * through require (the packages ship CommonJS builds too) because parsing is
 * synchronous; every parse in the process goes through here, so only one copy
 * of the runtime is ever loaded.
 */
const load = createRequire(import.meta.url);
let parser: LRParser | undefined;

export function lezerParser(): LRParser {
  return (parser ??= (load('@prometheus-io/lezer-promql') as typeof import('@prometheus-io/lezer-promql')).parser);
}
