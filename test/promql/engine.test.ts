import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import { createEngine, PromQLError } from '../../src/promql/index.js';

function storage(series = 20, points = 241, stepMs = 15_000): MemoryStorage {
  const st = new MemoryStorage();
  for (let s = 0; s < series; s++) {
    for (let i = 0; i < points; i++) {
      st.add({ __name__: 'http_requests_total', endpoint: `/e${s % 4}`, instance: `i${s}`, status: s % 5 === 0 ? '500' : '200' }, i * stepMs, i * (s + 1));
    }
  }
  return st;
}

async function fails(p: Promise<unknown>): Promise<PromQLError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PromQLError);
    return err as PromQLError;
  }
  throw new Error('expected the query to fail');
}

describe('engine', () => {
  const st = storage();
  const engine = createEngine(st);

  it('evaluates the documented rule shapes', async () => {
    const r = await engine.instantQuery('rate(http_requests_total{status=~"5.."}[5m]) > 0.1', 3_600_000);
    expect(r.value.resultType).toBe('vector');
    if (r.value.resultType !== 'vector') return;
    expect(r.value.result).toHaveLength(3);
    for (const s of r.value.result) {
      expect(s.labels.__name__).toBeUndefined();
      expect(s.labels.status).toBe('500');
    }
    const sum = await engine.instantQuery('sum(rate(http_requests_total[5m])) / sum(rate(http_requests_total[5m]))', 3_600_000);
    expect(sum.value.resultType === 'vector' && sum.value.result[0].v).toBeCloseTo(1);
  });

  it('gives a range query the same values as instant queries at each step', async () => {
    const expr = 'sum by (endpoint) (rate(http_requests_total[5m]))';
    const range = await engine.rangeQuery(expr, 600_000, 3_600_000, 300_000);
    if (range.value.resultType !== 'matrix') throw new Error('matrix expected');
    expect(range.value.result).toHaveLength(4);
    for (const series of range.value.result) {
      for (let i = 0; i < series.t.length; i++) {
        const inst = await engine.instantQuery(expr, series.t[i]);
        if (inst.value.resultType !== 'vector') throw new Error('vector expected');
        const hit = inst.value.result.find((s) => s.labels.endpoint === series.labels.endpoint);
        expect(hit?.v).toBeCloseTo(series.v[i], 9);
      }
    }
  });

  it('stops a query that would load too many samples', async () => {
    const err = await fails(engine.instantQuery('http_requests_total[1h]', 3_600_000, { maxSamples: 1000 }));
    expect(err.type).toBe('too_many_samples');
    expect(err.message).toMatch(/too many samples/);
  });

  it('bounds huge ranges by the sample limit, not by memory', async () => {
    // A huge range reads only the data that exists.
    const ok = await engine.instantQuery('count_over_time(http_requests_total[100y])', 3_600_000, { maxSamples: 10_000 });
    expect(ok.value.resultType === 'vector' && ok.value.result[0].v).toBe(241);
    const err = await fails(
      engine.rangeQuery('count_over_time(http_requests_total[100y])', 0, 3_600_000, 15_000, { maxSamples: 1_000 }),
    );
    expect(err.type).toBe('too_many_samples');
    const subq = await fails(engine.instantQuery('max_over_time(rate(http_requests_total[5m])[10y:1s])', 3_600_000));
    expect(subq.message).toMatch(/subquery would evaluate \d+ steps/);
    const subSamples = await fails(engine.instantQuery('max_over_time(rate(http_requests_total[5m])[1h:1s])', 3_600_000, { maxSamples: 20_000 }));
    expect(subSamples.type).toBe('too_many_samples');
  });

  it('refuses range queries with too many steps', async () => {
    const err = await fails(engine.rangeQuery('up', 0, 86_400_000 * 365, 1000));
    expect(err.type).toBe('bad_data');
    expect(err.message).toMatch(/11,000 points/);
  });

  it('limits count_values explosions through the sample limit', async () => {
    const err = await fails(
      engine.rangeQuery('count_values("value", http_requests_total)', 0, 3_600_000, 15_000, { maxSamples: 2000 }),
    );
    expect(err.type).toBe('too_many_samples');
    const ok = await engine.instantQuery('count_values("value", http_requests_total)', 3_600_000);
    expect(ok.value.resultType === 'vector' && ok.value.result.length).toBe(20);
  });

  it('times out and cancels', async () => {
    const t = await fails(engine.rangeQuery('sum(rate(http_requests_total[5m]))', 0, 3_600_000, 15_000, { timeoutMs: -1 }));
    expect(t.type).toBe('timeout');
    const ac = new AbortController();
    ac.abort();
    const c = await fails(engine.rangeQuery('sum(rate(http_requests_total[5m]))', 0, 3_600_000, 15_000, { signal: ac.signal }));
    expect(c.type).toBe('canceled');
  });

  it('matches regexes in linear time: (a+)+b against long values answers', async () => {
    const st2 = new MemoryStorage();
    st2.add({ __name__: 'x', a: 'a'.repeat(30) }, 0, 1);
    st2.add({ __name__: 'x', a: 'a'.repeat(5000) }, 0, 1);
    st2.add({ __name__: 'x', a: 'a'.repeat(29) + 'b' }, 0, 1);
    const r = await createEngine(st2).instantQuery('count(x{a=~"(a+)+b"}) + count(label_replace(x, "y", "$1", "a", "(a|aa)+(c)"))', 0);
    expect(r.value.resultType === "vector" && r.value.result[0].v).toBe(1 + 3);
  });

  it('reports matching errors as Prometheus does', async () => {
    const st2 = new MemoryStorage();
    st2.add({ __name__: 'a', job: 'x', i: '1' }, 0, 1);
    st2.add({ __name__: 'a', job: 'x', i: '2' }, 0, 1);
    st2.add({ __name__: 'b', job: 'x' }, 0, 1);
    const e2 = createEngine(st2);
    expect((await fails(e2.instantQuery('b + on(job) a', 0))).message).toMatch(/many-to-many matching not allowed/);
    expect((await fails(e2.instantQuery('a + on(job) b', 0))).message).toMatch(/multiple matches for labels/);
    const ok = await e2.instantQuery('a + on(job) group_left b', 0);
    expect(ok.value.resultType === 'vector' && ok.value.result.length).toBe(2);
    expect((await fails(e2.instantQuery('label_replace(a, "i", "", "", "")', 0))).message).toBe(
      'vector cannot contain metrics with the same labelset',
    );
  });

  it('rejects bad query parameters', async () => {
    expect((await fails(engine.rangeQuery('up', 10, 0, 1))).type).toBe('bad_data');
    expect((await fails(engine.rangeQuery('up', 0, 10, 0))).type).toBe('bad_data');
    expect((await fails(engine.instantQuery('up', NaN))).type).toBe('bad_data');
    expect((await fails(engine.rangeQuery('up[5m]', 0, 10, 1))).message).toMatch(/invalid expression type "range vector"/);
  });

  it('survives deeply nested but parsable queries', async () => {
    const expr = 'abs('.repeat(150) + 'http_requests_total' + ')'.repeat(150);
    const r = await engine.instantQuery(expr, 3_600_000);
    expect(r.value.resultType === 'vector' && r.value.result.length).toBe(20);
  });

  it('evaluates -x ^ y as -(x ^ y), as Prometheus', async () => {
    const cases: Array<[string, number]> = [
      ['-2 ^ 2', -4],
      ['- 2 ^ 2', -4],
      ['(-2) ^ 2', 4],
      ['-2^---1*3', -1.5],
      ['+2 ^ 2', 4],
      ['-2 ^ 2 ^ 3', -256],
      ['2 ^ -2', 0.25],
      ['1 - -2 ^ 2', 5],
    ];
    for (const [expr, want] of cases) {
      const r = await engine.instantQuery(expr, 0);
      expect(r.value, expr).toEqual({ resultType: 'scalar', t: 0, v: want });
    }
    const v = await engine.instantQuery('-http_requests_total{instance="i1"} ^ 2', 30_000);
    expect(v.value.resultType === 'vector' && v.value.result[0].v).toBe(-16);
  });

  it('evaluates an empty on() group_left next to a scalar as plain scalar arithmetic', async () => {
    const r = await engine.instantQuery('http_requests_total{instance="i1"} / on() group_left scalar(count(http_requests_total))', 30_000);
    if (r.value.resultType !== 'vector') throw new Error('type');
    expect(r.value.result).toEqual([{ labels: { endpoint: '/e1', instance: 'i1', status: '200' }, t: 30_000, v: 4 / 20 }]);
    const err = await fails(engine.instantQuery('http_requests_total / on(instance) 2', 30_000));
    expect(err.message).toContain('vector matching only allowed between instant vectors');
  });
});
