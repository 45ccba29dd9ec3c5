import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * A synthetic fleet as OpenMetrics backfill text (what `promtool tsdb
 * create-blocks-from openmetrics` and `vigil tsdb import` read), written
 * straight to a file: instances x endpoints, each with two request counters
 * (status 200 and 500), six latency histogram buckets plus _sum and _count,
 * so 10 series per instance and endpoint. Scrape times are jittered by up to
 * ±50 ms; counters grow by varying amounts and reset now and then.
 */
export interface FleetSpec {
  instances: number;
  endpoints: number;
  /** Unix ms of the first scrape (a whole second). */
  start: number;
  durationMs: number;
  intervalMs: number;
  seed?: number;
}

export function fleetSeries(spec: FleetSpec): number {
  return spec.instances * spec.endpoints * 10;
}

export function fleetSamples(spec: FleetSpec): number {
  return fleetSeries(spec) * (Math.floor(spec.durationMs / spec.intervalMs) + 1);
}

const BUCKETS = ['0.05', '0.1', '0.25', '0.5', '1', '+Inf'];

/** Writes the fleet to `path`; returns the bytes written. */
export function writeFleet(path: string, spec: FleetSpec): number {
  const fd = openSync(path, 'w');
  let buf = '';
  let bytes = 0;
  const out = (s: string) => {
    buf += s;
    if (buf.length > 1 << 22) flush();
  };
  const flush = () => {
    bytes += writeSync(fd, buf);
    buf = '';
  };
  const steps = Math.floor(spec.durationMs / spec.intervalMs) + 1;
  let seed = (spec.seed ?? 1) >>> 0;
  const rnd = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  // One jittered time line per instance, shared by its series (as one scrape writes them).
  const times: string[][] = [];
  for (let i = 0; i < spec.instances; i++) {
    const line: string[] = [];
    for (let k = 0; k < steps; k++) {
      const t = spec.start + k * spec.intervalMs + Math.round((rnd() - 0.5) * 100);
      line.push((t / 1000).toFixed(3));
    }
    times.push(line);
  }
  const each = (fn: (inst: string, ep: string, ts: string[]) => void) => {
    for (let i = 0; i < spec.instances; i++) for (let e = 0; e < spec.endpoints; e++) fn(`10.0.${i >> 8}.${i & 255}:8080`, `/api/v1/e${e}`, times[i]);
  };
  const counter = (rate: number) => {
    return (emit: (v: number, k: number) => void, steps: number) => {
      let v = 0;
      for (let k = 0; k < steps; k++) {
        if (rnd() < 0.0005) v = 0; // process restart
        else v += Math.floor(rate * (0.5 + rnd()));
        emit(v, k);
      }
    };
  };
  out('# HELP http_requests_total Requests handled.\n# TYPE http_requests_total counter\n');
  each((inst, ep, ts) => {
    for (const [status, rate] of [
      ['200', 40],
      ['500', 1],
    ] as const) {
      const name = `http_requests_total{instance="${inst}",endpoint="${ep}",status="${status}"} `;
      counter(rate)((v, k) => out(`${name}${v} ${ts[k]}\n`), steps);
    }
  });
  out('# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n');
  each((inst, ep, ts) => {
    const counts = new Array<number>(BUCKETS.length).fill(0);
    const lines: string[][] = BUCKETS.map(() => []);
    const sums: string[] = [];
    let sum = 0;
    for (let k = 0; k < steps; k++) {
      const n = Math.floor(20 + rnd() * 40);
      for (let j = 0; j < n; j++) {
        const lat = -Math.log(1 - rnd()) * 0.12;
        sum += lat;
        for (let b = 0; b < BUCKETS.length; b++) if (b === BUCKETS.length - 1 || lat <= Number(BUCKETS[b])) counts[b]++;
      }
      for (let b = 0; b < BUCKETS.length; b++) lines[b].push(`${counts[b]} ${ts[k]}\n`);
      sums.push(`${sum.toFixed(3)} ${ts[k]}\n`);
    }
    for (let b = 0; b < BUCKETS.length; b++) {
      const name = `http_request_duration_seconds_bucket{instance="${inst}",endpoint="${ep}",le="${BUCKETS[b]}"} `;
      for (const l of lines[b]) out(name + l);
    }
    for (const l of sums) out(`http_request_duration_seconds_sum{instance="${inst}",endpoint="${ep}"} ${l}`);
    const countName = `http_request_duration_seconds_count{instance="${inst}",endpoint="${ep}"} `;
    for (const l of lines[BUCKETS.length - 1]) out(countName + l);
  });
  out('# EOF\n');
  flush();
  closeSync(fd);
  return bytes;
}
