import { describe, expect, it } from 'vitest';
import { queryDataJson } from '../../src/api/prom-api/format.js';
import type { FloatHistogram } from '../../src/model/histogram.js';
import { createEngine } from '../../src/promql/engine.js';
import { ScriptStorage } from '../../src/promql/testing/storage.js';

const h: FloatHistogram = {
  schema: 0,
  counterResetHint: 'unknown',
  zeroThreshold: 0.001,
  zeroCount: 1,
  count: 5,
  sum: 3.5,
  positive: { idx: [0, 1], cnt: [1, 2] },
  negative: { idx: [0], cnt: [1] },
};

describe('query API JSON for native histograms', () => {
  it('encodes a vector sample under "histogram" with count, sum and bucket rules', () => {
    const json = queryDataJson({ resultType: 'vector', result: [{ labels: { __name__: 'rtt' }, t: 60_000, v: 0, h }] });
    expect(JSON.parse(json)).toEqual({
      resultType: 'vector',
      result: [
        {
          metric: { __name__: 'rtt' },
          histogram: [
            60,
            {
              count: '5',
              sum: '3.5',
              buckets: [
                [1, '-1', '-0.5', '1'],
                [3, '-0.001', '0.001', '1'],
                [0, '0.5', '1', '1'],
                [0, '1', '2', '2'],
              ],
            },
          ],
        },
      ],
    });
  });

  it('splits a range series into "values" and "histograms"', async () => {
    const storage = new ScriptStorage();
    storage.add({ __name__: 'm' }, 0, 1);
    storage.add({ __name__: 'm' }, 60_000, h);
    const res = await createEngine(storage).rangeQuery('m', 0, 60_000, 60_000);
    const data = JSON.parse(queryDataJson(res.value)) as { result: Array<Record<string, unknown>> };
    expect(data.result[0].values).toEqual([[0, '1']]);
    expect((data.result[0].histograms as unknown[][])[0][0]).toBe(60);
    expect(((data.result[0].histograms as unknown[][])[0][1] as { count: string }).count).toBe('5');
  });

  it('reports histogram_quantile over it with its annotations', async () => {
    const storage = new ScriptStorage();
    storage.add({ __name__: 'rtt' }, 0, h);
    const res = await createEngine(storage).instantQuery('histogram_quantile(2, rtt)', 0);
    expect(res.warnings).toEqual(['PromQL warning: quantile value should be between 0 and 1, got 2']);
    expect(JSON.parse(queryDataJson(res.value)).result[0].value[1]).toBe('+Inf');
  });
});
