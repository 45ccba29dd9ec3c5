/**
 * Local evaluation over raw samples from a query backend: the reads the engine
 * needs are learnt by running it, answers equal the embedded engine's over the
 * same samples, and a backend that answers out of contract gives a clear error.
 */
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/promql/index.js';
import type { QueryValue } from '../../src/promql/types.js';
import { createLocalEvalEngine, type RawRead } from '../../src/remote/local-eval.js';
import { MemoryStorage } from '../../src/tsdb/index.js';

const mem = new MemoryStorage();
for (let i = 0; i <= 40; i++) {
  const t = i * 15_000;
  mem.add({ __name__: 'req_total', job: 'api', code: '200' }, t, i * 10);
  mem.add({ __name__: 'req_total', job: 'api', code: '500' }, t, i * (i % 7));
  if (i < 20) mem.add({ __name__: 'up', job: 'api' }, t, 1);
}

/** A backend over `mem`: answers `selector[window]` at an instant with its raw samples, as the query API does. */
function backend(log: string[]): RawRead {
  const engine = createEngine(mem);
  return async (selector, at, windowMs) => {
    log.push(`${selector}[${windowMs}ms]@${at}`);
    return (await engine.instantQuery(`${selector}[${windowMs}ms]`, at)).value;
  };
}

describe('local evaluation over a query backend', () => {
  const exprs = [
    'sum by (code) (rate(req_total[2m]))',
    'rate(req_total{code="500"}[5m]) / ignoring(code) rate(req_total{code="200"}[5m]) > 0.1',
    'up == 0 or absent(up{job="api"})',
    'max_over_time(req_total[3m:30s] offset 1m)',
    'req_total and on(job) up',
  ];
  it('answers instant and range queries as the embedded engine does', async () => {
    const local = createLocalEvalEngine(backend([]));
    const embedded = createEngine(mem);
    for (const e of exprs) {
      for (const t of [0, 150_000, 450_000, 600_000]) expect((await local.instantQuery(e, t)).value, `${e} @ ${t}`).toEqual((await embedded.instantQuery(e, t)).value);
      expect((await local.rangeQuery(e, 0, 600_000, 30_000)).value, e).toEqual((await embedded.rangeQuery(e, 0, 600_000, 30_000)).value);
    }
  });

  it('reads each selector once per query, over the window the engine needs', async () => {
    const log: string[] = [];
    await createLocalEvalEngine(backend(log)).rangeQuery('sum(rate(req_total[2m]))', 300_000, 600_000, 60_000);
    expect(log).toEqual(['{__name__="req_total"}[420000ms]@600000']);
  });

  it('drops series the matchers exclude and refuses answers that are not raw samples', async () => {
    const stray: QueryValue = { resultType: 'matrix', result: [{ labels: { __name__: 'other' }, t: [0], v: [1] }] };
    expect((await createLocalEvalEngine(async () => stray).instantQuery('req_total', 0)).value).toEqual({ resultType: 'vector', result: [] });
    const vector: QueryValue = { resultType: 'vector', result: [] };
    await expect(createLocalEvalEngine(async () => vector).instantQuery('req_total', 0)).rejects.toThrow(/answered vector to the raw read/);
  });
});
