/**
 * Preloaded (`node --import`) by the instruction-count benchmark: Date.now,
 * performance.now, process.hrtime and the delays of setTimeout and setInterval run
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
  const realHrtime = process.hrtime;
  const [s0, n0] = realHrtime();
  const slowHrtime = (time) => {
    const [s, n] = realHrtime();
    // Nanoseconds since the preload, slowed, on top of the clock's reading then.
    const ns = s0 * 1e9 + n0 + ((s - s0) * 1e9 + (n - n0)) / k;
    let sec = Math.floor(ns / 1e9);
    let nsec = Math.floor(ns - sec * 1e9);
    if (time !== undefined) {
      sec -= time[0];
      nsec -= time[1];
      if (nsec < 0) {
        sec--;
        nsec += 1e9;
      }
    }
    return [sec, nsec];
  };
  slowHrtime.bigint = realHrtime.bigint;
  process.hrtime = slowHrtime;
  globalThis.setTimeout = (fn, ms, ...args) => realTimeout(fn, (Number(ms) || 0) * k, ...args);
  globalThis.setInterval = (fn, ms, ...args) => realInterval(fn, (Number(ms) || 0) * k, ...args);
  const realMonitor = perfHooks.monitorEventLoopDelay;
  perfHooks.monitorEventLoopDelay = (opts = {}) => realMonitor({ ...opts, resolution: (opts.resolution ?? 10) * k });
}
