import { describe, expect, it } from 'vitest';
import { BULK_FILTER_PATH } from '../../src/logs/elasticsearch.js';
import { filterPath } from '../helpers/elasticsearch.js';

const paths = BULK_FILTER_PATH.split(',').map((p) => p.split('.'));

describe('bulk response filtering (filter_path)', () => {
  it('keeps every item, with its status and error only, so items still line up with the request', () => {
    const res = {
      took: 3,
      errors: true,
      items: [
        { create: { _index: 'logs', _id: 'a', _version: 1, result: 'created', status: 201, _seq_no: 1, _primary_term: 1 } },
        { create: { _index: 'logs', _id: 'b', status: 429, error: { type: 'es_rejected_execution_exception', reason: 'busy' } } },
        { index: { _index: 'logs', _id: 'c', status: 201, _shards: { total: 1, successful: 1, failed: 0 } } },
      ],
    };
    expect(filterPath(res, paths)).toEqual({
      took: 3,
      errors: true,
      items: [{ create: { status: 201 } }, { create: { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'busy' } } }, { index: { status: 201 } }],
    });
  });

  it('drops what no path names, and objects and elements left empty', () => {
    expect(filterPath({ a: 1, b: { c: 2 }, d: [{ e: 1 }, { f: 2 }] }, [['a'], ['d', 'e']])).toEqual({ a: 1, d: [{ e: 1 }] });
    expect(filterPath({ a: 1 }, [['x']])).toBeUndefined();
  });
});
