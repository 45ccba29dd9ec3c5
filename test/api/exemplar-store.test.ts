import { describe, expect, it } from 'vitest';
import { ExemplarStore } from '../../src/api/exemplar-store.js';

const series = { __name__: 'x' };
const all = [[{ type: '=~' as const, name: '__name__', value: '.+' }]];

describe('ExemplarStore', () => {
  it('keeps the newest `capacity` exemplars, oldest first, while filling and after wrapping', () => {
    const s = new ExemplarStore(3);
    const add = (t: number) => s.add({ series, labels: {}, value: t, t });
    const times = () => s.query(all, 0, 100).flatMap((g) => g.exemplars.map((e) => e.t));
    expect(times()).toEqual([]);
    add(1);
    add(2);
    expect(times()).toEqual([1, 2]);
    add(3);
    add(4);
    add(5);
    expect(times()).toEqual([3, 4, 5]);
    expect(s.query(all, 4, 4).flatMap((g) => g.exemplars.map((e) => e.t))).toEqual([4]);
  });

  it('keeps nothing at capacity 0', () => {
    const s = new ExemplarStore(0);
    s.add({ series, labels: {}, value: 1, t: 1 });
    expect(s.query(all, 0, 10)).toEqual([]);
  });
});
