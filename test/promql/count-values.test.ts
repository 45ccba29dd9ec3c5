import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/tsdb/memory.js';
import { createEngine } from '../../src/promql/index.js';

describe('count_values', () => {
  it('labels -0 as "-0" and 0 as "0", as Prometheus (strconv.FormatFloat) does', async () => {
    const st = new MemoryStorage();
    st.add({ __name__: 'x', i: 'neg' }, 0, -0);
    st.add({ __name__: 'x', i: 'pos' }, 0, 0);
    st.add({ __name__: 'x', i: 'big' }, 0, 1e21);
    st.add({ __name__: 'x', i: 'small' }, 0, 1e-7);
    const r = await createEngine(st).instantQuery('count_values("v", x)', 0);
    expect(r.value.resultType).toBe('vector');
    if (r.value.resultType !== 'vector') return;
    const byLabel = Object.fromEntries(r.value.result.map((s) => [s.labels.v, s.v]));
    expect(byLabel).toEqual({ '-0': 1, '0': 1, '1000000000000000000000': 1, '0.0000001': 1 });
  });
});
