import { describe, expect, it } from 'vitest';
import { ExpositionParser } from '../../src/collectors/exposition.js';
import { SeriesMapper, type Batch } from '../../src/collectors/series-mapper.js';
import { labelsKey } from '../../src/model/labels.js';

const settings = {
  targetLabels: { job: 'j', instance: 'i' },
  honorLabels: false,
  honorTimestamps: true,
  metricRelabel: [],
  sampleLimit: 0,
  labelLimit: 0,
  labelNameLengthLimit: 0,
  labelValueLengthLimit: 0,
};

/** Reference -> label key as a consumer of the batches keeps it, and each sample as key -> value. */
function consume(defs: Map<number, string>, b: Batch): Map<string, number> {
  let p = 0;
  for (let d = 0; d < b.defRefs.length; d++) {
    const l: Record<string, string> = {};
    for (let k = 0; k < b.defCounts[d]; k++, p += 2) l[b.defStrings[b.defPairs[p]]] = b.defStrings[b.defPairs[p + 1]];
    defs.set(b.defRefs[d], labelsKey(l));
  }
  const out = new Map<string, number>();
  for (let i = 0; i < b.refs.length; i++) out.set(defs.get(b.refs[i]) as string, b.values[i]);
  return out;
}

describe('series mapper', () => {
  it('maps every sample to its series while the target reorders, adds and drops series', () => {
    const parser = new ExpositionParser();
    const mapper = new SeriesMapper(settings);
    const defs = new Map<number, string>();
    const runs = [
      ['a', 'b', 'c', 'd', 'e'],
      ['a', 'b', 'c', 'd', 'e'],
      ['a', 'x', 'b', 'c', 'e'],
      ['e', 'c', 'b', 'x', 'a', 'y'],
      ['a', 'b'],
      ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
    ];
    runs.forEach((names, run) => {
      const text = names.map((n, i) => `m{s="${n}"} ${run * 100 + i}\n`).join('');
      mapper.begin();
      mapper.add(parser.parse(text).samples);
      const got = consume(defs, mapper.finish());
      const want = new Map(names.map((n, i) => [labelsKey({ __name__: 'm', s: n, job: 'j', instance: 'i' }), run * 100 + i]));
      expect(got, `run ${run}`).toEqual(want);
    });
  });
});
