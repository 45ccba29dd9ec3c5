/**
 * Preloaded (`node --import`) by the instruction-count benchmark: Date.now,
 * performance.now and the delays of setTimeout and setInterval run
 * VIGIL_BENCH_INSN_CLOCK_SLOWDOWN times slower, and so does the event-loop delay
 * monitor's sampling, so that an API slowed down that much by valgrind sees
 * its clock turn, and its timers fire, as often per request as at full speed
 * (the request log's timestamp and latency texts, its batched writes every
 * 50 ms, the default metrics' event-loop delay samples every 10 ms).
 */
/* global process, performance */
import perfHooks from 'node:perf_hooks';

const k = Number(process.env.VIGIL_BENCH_INSN_CLOCK_SLOWDOWN ?? 1);
if (k > 0 && k !== 1) {
  const realDate = Date.now;
  const realPerf = performance.now.bind(performance);
  const realTimeout = globalThis.setTimeout;
  const realInterval = globalThis.setInterval;
  const d0 = realDate();
  const p0 = realPerf();
  Date.now = () => d0 + Math.floor((realDate() - d0) / k);
  performance.now = () => p0 + (realPerf() - p0) / k;
  globalThis.setTimeout = (fn, ms, ...args) => realTimeout(fn, (Number(ms) || 0) * k, ...args);
  globalThis.setInterval = (fn, ms, ...args) => realInterval(fn, (Number(ms) || 0) * k, ...args);
  const realMonitor = perfHooks.monitorEventLoopDelay;
  perfHooks.monitorEventLoopDelay = (opts = {}) => realMonitor({ ...opts, resolution: (opts.resolution ?? 10) * k });
}
