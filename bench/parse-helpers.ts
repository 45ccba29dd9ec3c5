export { findBinary } from '../test/helpers/services.js';
export { freePort } from '../test/helpers/net.js';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wall and process CPU time of one synchronous call, in ms. */
export function measure(fn: () => unknown): { wallMs: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000 };
}

/** Values of the first series a range query returns from a Prometheus on `port`. */
export async function promQuery(port: number, query: string): Promise<number[]> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(query)}`);
  const j = (await res.json()) as { data?: { result?: Array<{ values?: Array<[number, string]> }> } };
  return (j.data?.result?.[0]?.values ?? []).map((v) => Number(v[1]));
}
