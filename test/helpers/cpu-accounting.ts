/**
 * Per-file CPU accounting, on with VIGIL_TEST_CPU=<output file>: after each test file, one JSON
 * line with the CPU seconds the worker process spent on it (all its threads) and the CPU of the
 * child processes it reaped meanwhile (Vigil processes, promtool, Chromium, …). Wall time hides
 * which files cost the suite its CPU on a loaded machine; these figures do not.
 *
 * Fields: `self` and `children` cover the file's hooks and tests; `total` runs from the previous
 * file's end in the same worker, so it adds the file's imports and collection (and, for a
 * worker's first file, the worker's start-up).
 */
import { appendFileSync } from 'node:fs';
import { afterAll, beforeAll, expect } from 'vitest';
import { cpuTimes, type CpuTimes as Times } from './proc-cpu.js';

const processTimes = (): Times => cpuTimes('/proc/self/stat');

const out = process.env.VIGIL_TEST_CPU;
if (out) {
  // Kept on globalThis: with isolate: false this module runs again for each file of a worker.
  const shared = globalThis as { vigilCpuLastEnd?: Times };
  let start: Times = processTimes();
  let startedAt = Date.now();
  let file = '';
  beforeAll(() => {
    start = processTimes();
    startedAt = Date.now();
    file = expect.getState().testPath ?? '';
  });
  afterAll(() => {
    const end = processTimes();
    const last = shared.vigilCpuLastEnd ?? { self: 0, children: 0 };
    shared.vigilCpuLastEnd = end;
    const round = (s: number) => Math.round(s * 100) / 100;
    const line = {
      file,
      pid: process.pid,
      self: round(end.self - start.self),
      children: round(end.children - start.children),
      total: round(end.self - last.self + end.children - last.children),
      wall: round((Date.now() - startedAt) / 1000),
    };
    appendFileSync(out, `${JSON.stringify(line)}\n`);
  });
}
