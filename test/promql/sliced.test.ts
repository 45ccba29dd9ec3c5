import { describe, expect, it } from 'vitest';
import { createEngine, PromQLError } from '../../src/promql/index.js';
import { slicedRangeQuery } from '../../src/promql/sliced.js';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import { turnsDuring } from '../helpers/event-loop.js';

function storage(): MemoryStorage {
  const st = new MemoryStorage();
  for (let s = 0; s < 12; s++) {
    // Series that start and stop at different times, so slices see different series sets.
    const from = (s % 4) * 40;
    const to = 241 - (s % 3) * 50;
    for (let i = from; i < to; i++) {
      st.add({ __name__: 'http_requests_total', endpoint: `/e${s % 4}`, instance: `i${s}`, status: s % 5 === 0 ? '500' : '200' }, i * 15_000, i * (s + 1) + (s % 2 ? Math.sin(i) : 0));
    }
  }
  return st;
}

const QUERIES = [
  'http_requests_total',
  'rate(http_requests_total[5m])',
  'sum by (endpoint) (rate(http_requests_total[2m]))',
  'topk(2, http_requests_total)',
  'max_over_time(rate(http_requests_total[1m])[5m:30s])',
  'max_over_time(avg_over_time(rate(http_requests_total[1m])[5m:30s])[10m:1m]) - min_over_time(http_requests_total[5m:] @ 1800)',
  'http_requests_total @ 1800',
  'http_requests_total @ start()',
  'avg_over_time(http_requests_total[10m] @ end())',
  'time() - timestamp(http_requests_total)',
  'vector(1) + scalar(sum(http_requests_total))',
  'absent(nonexistent)',
];

describe('sliced range queries', () => {
  const engine = createEngine(storage());

  it('give the same result as one evaluation, slice sizes notwithstanding', async () => {
    for (const q of QUERIES) {
      for (const [start, end, step] of [
        [0, 3_600_000, 15_000],
        [7_000, 3_000_000, 45_000],
        [600_000, 600_000 + 29 * 60_000, 60_000],
      ]) {
        const whole = await engine.rangeQuery(q, start, end, step);
        for (const sliceMs of [0, 1]) {
          // sliceMs 0: every slice is a single step.
          const sliced = await slicedRangeQuery(engine, q, start, end, step, {}, { sliceMs });
          expect(sliced, `${q} [${start}, ${end}, ${step}] in slices of ${sliceMs} ms`).toEqual(whole);
        }
      }
    }
  });

  it('yields to the event loop between slices', async () => {
    const turns = await turnsDuring(slicedRangeQuery(engine, 'rate(http_requests_total[5m])', 0, 3_600_000, 15_000, {}, { sliceMs: 0 }));
    expect(turns).toBeGreaterThan(100);
  });

  it('yields inside a subquery too: one step over a long subquery range', async () => {
    const turns = await turnsDuring(slicedRangeQuery(engine, 'max_over_time(rate(http_requests_total[1m])[1h:15s])', 3_600_000, 3_600_000, 15_000, {}, { sliceMs: 0 }));
    expect(turns).toBeGreaterThan(100);
  });

  it('keeps the engine errors and limits', async () => {
    await expect(slicedRangeQuery(engine, 'http_requests_total[5m]', 0, 3_600_000, 15_000)).rejects.toThrow(/invalid expression type "range vector"/);
    await expect(slicedRangeQuery(engine, 'up', 0, 3_600_000, 0)).rejects.toThrow(/zero or negative/);
    const tooMany = slicedRangeQuery(engine, 'http_requests_total', 0, 3_600_000, 15_000, { maxSamples: 500 }, { sliceMs: 0 });
    await expect(tooMany).rejects.toBeInstanceOf(PromQLError);
    const ac = new AbortController();
    ac.abort(new PromQLError('canceled', 'stopped'));
    await expect(slicedRangeQuery(engine, 'http_requests_total', 0, 3_600_000, 15_000, { signal: ac.signal })).rejects.toMatchObject({ type: 'canceled' });
  });
});

describe('sliced range queries, cost', () => {
  it('select series and evaluate subqueries once, however many slices', async () => {
    const st = storage();
    let selects = 0;
    const counting = {
      querier: () => {
        const q = st.querier();
        return new Proxy(q, {
          get(target, prop, recv) {
            const v = Reflect.get(target, prop, recv) as unknown;
            if (prop !== 'select' || typeof v !== 'function') return v;
            return (...args: unknown[]) => {
              selects++;
              return (v as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        });
      },
    };
    const engine = createEngine(counting);
    const q = 'max_over_time(sum by (endpoint) (rate(http_requests_total[1m]))[10m:15s])';
    const whole = await engine.rangeQuery(q, 0, 3_600_000, 15_000);
    const once = selects;
    selects = 0;
    const sliced = await slicedRangeQuery(engine, q, 0, 3_600_000, 15_000, {}, { sliceMs: 0 });
    expect(sliced).toEqual(whole);
    expect(selects).toBe(once);
  });
});
