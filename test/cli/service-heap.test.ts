import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { compactHeapOnce } from '../../src/cli/service-heap.js';

describe('compactHeapOnce', () => {
  it('collects without leaving gc exposed to contexts created later', () => {
    const before = runInNewContext('typeof gc');
    compactHeapOnce();
    compactHeapOnce();
    expect(runInNewContext('typeof gc')).toBe(before);
  });
});
