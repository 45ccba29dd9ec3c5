import { describe, expect, it } from 'vitest';
import { decodeWriteBody, encodeWriteBody } from '../../src/remote/proto.js';

describe('WriteRequest encoding', () => {
  it('round-trips labels, int64 millisecond timestamps and special floats', () => {
    const labels = [
      { name: '__name__', value: 'http_requests_total' },
      { name: 'path', value: '/ä/"x"\n' },
    ];
    const t = [1_700_000_000_000, 1_700_000_015_000, 2 ** 52];
    const v = [0, -1.5e-300, Number.POSITIVE_INFINITY];
    const body = encodeWriteBody({ timeseries: [{ labels, samples: t.map((ts, i) => ({ timestamp: ts, value: v[i] })) }] });
    const back = decodeWriteBody(body);
    expect(back.timeseries[0].labels).toEqual(labels);
    expect(back.timeseries[0].samples.map((s) => Number(s.timestamp))).toEqual(t);
    expect(back.timeseries[0].samples.map((s) => s.value)).toEqual(v);
  });

  it('encodes negative timestamps as int64 and metadata entries', () => {
    const t = [-1, -1_700_000_000_000, -(2 ** 52)];
    const body = encodeWriteBody({
      timeseries: [{ labels: [{ name: '__name__', value: 'm' }], samples: t.map((ts) => ({ timestamp: ts, value: 1 })) }],
      metadata: [
        { type: 1, metric_family_name: 'http_requests_total', help: 'Requests.', unit: '' },
        { type: 2, metric_family_name: 'temp_celsius', help: '', unit: 'celsius' },
      ],
    });
    const back = decodeWriteBody(body);
    expect(back.timeseries[0].samples.map((s) => Number(s.timestamp))).toEqual(t);
    expect(back.metadata).toEqual([
      { type: 1, metric_family_name: 'http_requests_total', help: 'Requests.', unit: '' },
      { type: 2, metric_family_name: 'temp_celsius', help: '', unit: 'celsius' },
    ]);
  });

  it('rejects a corrupt body with an error, not a crash', () => {
    expect(() => decodeWriteBody(Buffer.from('not snappy at all'))).toThrow();
  });
});
